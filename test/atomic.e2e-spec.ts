import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { CacheModule, CacheService, Cached } from 'nest-tiered-cache';
import { RedisServerHarness } from '../libs/tiered-cache/test/redis-server.harness.js';
import { deferred } from '../libs/tiered-cache/test/test-cache.js';

const WORKER = fileURLToPath(new URL('./fixtures/atomic-worker.mjs', import.meta.url));

/** A worker process: resolves once it printed "ready"; `go()` starts it and resolves to its value. */
async function startWorker(
  url: string,
  delayMs: number,
  lease: string,
): Promise<{ child: ChildProcessWithoutNullStreams; go: () => Promise<unknown> }> {
  const child = spawn(process.execPath, [WORKER, url, '42', String(delayMs), lease]);
  let out = '';
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    let cut: number;
    while ((cut = out.indexOf('\n')) !== -1) {
      lines.push(out.slice(0, cut));
      out = out.slice(cut + 1);
      waiters.splice(0).forEach((wake) => wake());
    }
  });
  const nextLine = async (): Promise<string> => {
    while (lines.length === 0) {
      if (child.exitCode !== null) throw new Error(`worker exited with ${child.exitCode}: ${err}`);
      await Promise.race([
        new Promise<void>((resolve) => waiters.push(resolve)),
        once(child, 'exit'),
      ]);
    }
    return lines.shift()!;
  };
  expect(await nextLine()).toBe('ready');
  return {
    child,
    go: async () => {
      child.stdin.end('go\n');
      return JSON.parse(await nextLine()) as unknown;
    },
  };
}

describe('atomic writes on a real Redis', () => {
  let redis: RedisServerHarness;
  let admin: Redis;

  beforeAll(async () => {
    redis = await RedisServerHarness.start();
    admin = new Redis(redis.url);
  });
  afterEach(async () => {
    await admin.flushall();
  });
  afterAll(async () => {
    admin.disconnect();
    await redis.stop();
  });

  it('at-most-once: four processes, one origin call, one value', async () => {
    const workers = await Promise.all(
      Array.from({ length: 4 }, () => startWorker(redis.url, 300, '10s')),
    );
    const values = await Promise.all(workers.map((worker) => worker.go()));
    await Promise.all(
      workers.map((worker) =>
        worker.child.exitCode === null ? once(worker.child, 'exit') : undefined,
      ),
    );
    expect(await admin.get('atomic-e2e:origin-calls')).toBe('1');
    expect(new Set(values.map((value) => JSON.stringify(value))).size).toBe(1);
    expect(values[0]).toEqual({ id: '42', computedBy: expect.any(Number) });
  });

  it('at-most-once: a holder that dies frees its lease when the lease expires', async () => {
    const holder = await startWorker(redis.url, 60_000, '400ms');
    const waiter = await startWorker(redis.url, 10, '400ms');
    void holder.go().catch(() => undefined);
    while ((await admin.get('atomic-e2e:origin-calls')) !== '1')
      await new Promise((resolve) => setTimeout(resolve, 5));
    holder.child.kill('SIGKILL');
    await once(holder.child, 'exit');
    const value = await waiter.go();
    await (waiter.child.exitCode === null ? once(waiter.child, 'exit') : undefined);
    expect(value).toEqual({ id: '42', computedBy: waiter.child.pid });
    expect(await admin.get('atomic-e2e:origin-calls')).toBe('2');
  });

  describe('at-least-once', () => {
    let app: INestApplicationContext;
    let stock: StockService;
    let cache: CacheService;

    @Injectable()
    class StockService {
      gate = deferred<void>();
      calls = 0;

      @Cached({ key: 'stock:{id}', atomic: 'at-least-once' })
      async level(id: number) {
        this.calls++;
        const seen = this.calls;
        await this.gate.promise;
        return { id, level: seen };
      }
    }

    beforeAll(async () => {
      @Module({
        imports: [
          CacheModule.forRoot({
            namespace: 'alo',
            local: { backend: 'memory-no-serializer' },
            shared: { backend: 'redis-atomic', url: redis.url },
          }),
        ],
        providers: [StockService],
      })
      class AppModule {}
      app = await (await Test.createTestingModule({ imports: [AppModule] }).compile()).init();
      stock = app.get(StockService);
      cache = app.get(CacheService);
    });
    afterAll(async () => {
      await app.close();
    });

    const race = async (invalidate: () => Promise<unknown>) => {
      stock.gate = deferred<void>();
      const pending = stock.level(1);
      while (stock.calls === 0) await new Promise((resolve) => setImmediate(resolve));
      await invalidate();
      stock.gate.resolve();
      return pending;
    };

    it('stores the value when nothing invalidated it meanwhile', async () => {
      stock.calls = 0;
      expect(await race(async () => undefined)).toEqual({ id: 1, level: 1 });
      expect(await cache.get('stock:1')).toEqual({ id: 1, level: 1 });
      expect(await admin.exists('alo:stock:1')).toBe(1);
    });

    it.each<[string, (cache: CacheService) => Promise<unknown>]>([
      ['a delete of the key', (c) => c.delete('stock:1')],
      [
        'a pattern delete, the key absent when the computation began',
        (c) => c.deletePattern('stock:*'),
      ],
      ['a tag delete', (c) => c.deleteByTag('whatever')],
      ['a clear', (c) => c.clear()],
    ])('never lets a value computed before %s overwrite it', async (_case, invalidate) => {
      await cache.delete('stock:1');
      stock.calls = 0;
      const value = await race(() => invalidate(cache));
      expect(value).toEqual({ id: 1, level: 1 });
      expect(await cache.has('stock:1')).toBe(false);
      expect(await admin.exists('alo:stock:1')).toBe(0);
      expect(await race(async () => undefined)).toEqual({ id: 1, level: 2 });
      expect(await cache.get('stock:1')).toEqual({ id: 1, level: 2 });
    });
  });
});
