import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NullBackend } from '../src/backends/null.backend.js';
import type { CacheService } from '../src/cache.service.js';
import type { TieredCache } from '../src/core/tiered-cache.js';
import { CacheHealthIndicator } from '../src/health/cache-health.indicator.js';
import type { CacheModuleOptions } from '../src/interfaces/cache-module-options.interface.js';
import { closeRedis } from './bus-test-node.js';
import { RedisServerHarness } from './redis-server.harness.js';
import { createTestCache, deferred, FakeClock, RecordingLogger } from './test-cache.js';
import { waitFor } from './wait-for.js';

/**
 * Issue 13, point 9: no log line carries any part of a value. Every value, origin error and
 * backend error below carries MARKER (in a function's source, a symbol's description, an error
 * message, a key); the logs must name keys by hash and errors by class and code only.
 */
const MARKER = 'S3CRET-MARKER';

/** A custom backend whose every call fails with an error quoting what it was given. */
class QuotingBackend extends NullBackend {
  override readonly name = 'quoting';
  override get(key: string): never {
    throw new Error(`cannot read ${key}: ${MARKER}`);
  }
  override set(key: string): never {
    throw new TypeError(`cannot store ${key} = {"card":"${MARKER}"}`);
  }
  override delete(keys: readonly string[]): never {
    throw new Error(`cannot delete ${keys.join()} ${MARKER}`);
  }
  override async deletePattern(glob: string): Promise<number> {
    throw new Error(`cannot delete ${glob} ${MARKER}`);
  }
  override async ping(): Promise<number> {
    throw Object.assign(new Error(`ping refused: ${MARKER}`), { code: 'ECONNREFUSED' });
  }
}

describe('logs never carry values', () => {
  let redis: RedisServerHarness;
  let engines: TieredCache[] = [];
  let dirs: string[] = [];
  const logger = new RecordingLogger();
  const clock = new FakeClock();

  beforeAll(async () => {
    redis = await RedisServerHarness.start();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    await Promise.all(engines.map((engine) => engine.close()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    engines = [];
    dirs = [];
    logger.lines.length = 0;
  });

  const start = async (options: CacheModuleOptions): Promise<CacheService> => {
    const { cache, engine } = await createTestCache(
      { namespace: 'logs', clock: clock.read, ...options },
      logger,
    );
    engines.push(engine);
    return cache;
  };
  const tempDir = () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ntc-logs-'));
    dirs.push(dir);
    return dir;
  };
  /** Every line logged, checked for MARKER; `expected` lines at least were logged. */
  const expectClean = (expected: number) => {
    expect(logger.lines.length).toBeGreaterThanOrEqual(expected);
    expect(logger.lines.filter((line) => line.message.includes(MARKER))).toEqual([]);
  };

  it('serialization failures: a function, a symbol, a throwing toJSON (memory, Redis, filesystem)', async () => {
    const values: unknown[] = [
      { id: 1, fn: () => `${MARKER}` },
      Symbol(MARKER),
      { tag: Symbol(MARKER) },
      {
        toJSON() {
          throw new Error(`bad card ${MARKER}`);
        },
      },
    ];
    for (const options of [
      { local: { backend: 'memory' }, shared: { backend: 'redis', url: redis.url } },
      { local: { backend: 'filesystem', dir: tempDir() } },
    ] as const) {
      const cache = await start(options);
      for (const value of values) {
        await cache.set(`user:${MARKER}`, value);
        expect(await cache.getOrSet(`k:${MARKER}`, () => value)).toBe(value);
        clock.advance(61_000); // past the once-a-minute log limit: every value gets its line
      }
    }
    expect(logger.matching('warn', 'E_UNSERIALIZABLE').length).toBeGreaterThanOrEqual(12);
    expectClean(12);
  });

  it('write and read failures of a backend whose errors quote values, up to its breaker opening', async () => {
    const cache = await start({ local: { backend: new QuotingBackend() } });
    for (let i = 0; i < 4; i++) {
      await cache.set(`card:${MARKER}`, { number: MARKER });
      await cache.get(`card:${MARKER}`);
    }
    expect(logger.matching('error', 'is unavailable')).toHaveLength(1);
    // The error's class stands for its message.
    expect(logger.matching('error', /local tier \(quoting\) \w+: (Type)?Error;/)).toHaveLength(1);
    expectClean(1);
  });

  it('origin errors: a failed background refresh, a failed warm-up load, a throwing listener', async () => {
    const cache = await start({ local: { backend: 'memory' } });
    const options = { ttl: 1, grace: '1m', timeout: '1ms' } as const;
    await cache.set(`user:${MARKER}`, 'stale', options);
    clock.advance(2_000);
    const origin = deferred<string>();
    expect(await cache.getOrSet(`user:${MARKER}`, () => origin.promise, options)).toBe('stale');
    origin.reject(new Error(`user ${MARKER} not found`));
    await waitFor(() => logger.matching('warn', 'background refresh').length > 0, 'refresh log');

    const report = await cache.warm([
      { key: `p:${MARKER}`, load: () => Promise.reject(new RangeError(`no ${MARKER}`)) },
    ]);
    expect(report.failed).toBe(1);
    expect(logger.matching('warn', 'RangeError')).toHaveLength(1);

    engines[0]!.onInvalidate(() => {
      throw new Error(`listener saw ${MARKER}`);
    });
    await cache.delete(`user:${MARKER}`);
    expect(logger.matching('warn', 'listener threw')).toHaveLength(1);
    expectClean(3);
  });

  it('bus: an unreadable message, a throwing handler, and an L1 whose deletes fail', async () => {
    const tiers = { shared: { backend: 'redis', url: redis.url } } as const;
    const writer = await start({ local: { backend: 'memory' }, ...tiers });
    await start({ local: { backend: new QuotingBackend() }, ...tiers });
    const bus = (engines[1] as unknown as { bus: { channel: string } }).bus as unknown as {
      channel: string;
      onRemoteInvalidation(handler: () => void): void;
    };
    bus.onRemoteInvalidation(() => {
      throw new Error(`handler saw ${MARKER}`);
    });
    for (let i = 0; i < 4; i++) await writer.deletePattern(`user:${MARKER}:*`);
    const raw = new Redis(redis.url, { lazyConnect: true });
    try {
      await raw.connect();
      await raw.publish(bus.channel, `${MARKER} garbage`);
    } finally {
      await closeRedis(raw);
    }
    await waitFor(
      () =>
        logger.matching('warn', 'unreadable bus message').length > 0 &&
        logger.matching('warn', 'handler threw').length > 0 &&
        logger.matching('error', 'is unavailable').length > 0,
      'bus logs',
    );
    expectClean(3);
  });

  it("merge's error names the key by hash, not by its text", async () => {
    const cache = await start({ local: { backend: 'memory' } });
    await cache.set(`n:${MARKER}`, 42);
    const err = await cache.merge(`n:${MARKER}`, { a: 1 }).catch((e: unknown) => e as Error);
    expect((err as Error).message).toMatch(/merge needs an object entry; key#\S+ holds number/);
    expect((err as Error).message).not.toContain(MARKER);
  });

  it('health: a tier whose probe fails with an error quoting values', async () => {
    await start({ local: { backend: new QuotingBackend() } });
    const result = await new CacheHealthIndicator(engines[0]!).isHealthy('cache');
    expect(JSON.stringify(result)).not.toContain(MARKER);
    expect(JSON.stringify(result)).toContain('"status":"down"');
    expectClean(0);
  });
});
