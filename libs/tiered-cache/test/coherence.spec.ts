import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { defaultRedisOptions, waitUntilReady } from '../src/backends/redis-connection.js';
import { CacheError } from '../src/cache.errors.js';
import type { CacheService } from '../src/cache.service.js';
import { busConnectionOf } from '../src/core/bus-connection.js';
import type { TieredCache } from '../src/core/tiered-cache.js';
import type { CacheEntry } from '../src/interfaces/cache-backend.interface.js';
import type { CacheModuleOptions } from '../src/interfaces/cache-module-options.interface.js';
import { closeRedis } from './bus-test-node.js';
import { RedisServerHarness } from './redis-server.harness.js';
import { TcpProxy } from './tcp-proxy.js';
import { createTestCache, deferred, RecordingLogger } from './test-cache.js';
import { waitFor } from './wait-for.js';

/** One instance: a memory L1 in front of the shared Redis, with the bus on by default. */
interface Instance {
  cache: CacheService;
  engine: TieredCache;
  logger: RecordingLogger;
  /** The L1 entry of `key`, read without counting. */
  inLocal(key: string): CacheEntry | undefined;
}

const NS = 'coh';

/** A command Redis ran, as MONITOR reports it: the client's address, the command (lower case), its arguments. */
interface Ran {
  source: string;
  args: string[];
}

/**
 * Turns `client` into a monitor: every command Redis runs from now on is pushed onto `seen`.
 * `mark(probe, label)` has `probe` run `ECHO label` and resolves once MONITOR reported it: by then
 * `seen` holds everything Redis ran before it.
 */
async function monitorCommands(client: Redis): Promise<{
  monitor: Redis;
  seen: Ran[];
  mark(probe: Redis, label: string): Promise<void>;
}> {
  const monitor = await client.monitor();
  const seen: Ran[] = [];
  monitor.on('monitor', (_time: string, args: unknown[], source: string) =>
    seen.push({
      source,
      args: args.map((arg, i) => (i === 0 ? String(arg).toLowerCase() : String(arg))),
    }),
  );
  const mark = async (probe: Redis, label: string) => {
    await probe.echo(label);
    await waitFor(
      () => seen.some((s) => s.args[0] === 'echo' && s.args[1] === label),
      `MONITOR reports the probe's ${label}`,
    );
  };
  return { monitor, seen, mark };
}

async function instance(url: string, extra: Partial<CacheModuleOptions> = {}): Promise<Instance> {
  const logger = new RecordingLogger();
  const { cache, engine } = await createTestCache(
    {
      namespace: NS,
      ttl: 60,
      local: { backend: 'memory', ttl: '1m' },
      shared: { backend: 'redis', url },
      ...extra,
    },
    logger,
  );
  const inLocal = (key: string) =>
    engine.local!.backend.get(`${NS}:${key}`) as CacheEntry | undefined;
  return { cache, engine, logger, inLocal };
}

describe('coherence across instances (real redis-server)', () => {
  let server: RedisServerHarness;
  const open: Instance[] = [];
  const start = async (extra?: Partial<CacheModuleOptions>) => {
    const made = await instance(server.url, extra);
    open.push(made);
    return made;
  };

  beforeAll(async () => {
    server = await RedisServerHarness.start();
  });
  afterAll(() => server.stop());
  afterEach(async () => {
    await Promise.all(open.splice(0).map((i) => i.engine.close()));
    await server.command('FLUSHALL');
  });

  describe('the bus is wired by default', () => {
    it('is on with an L1 in front of Redis, connected, in tracking mode', async () => {
      const a = await start();
      expect(a.engine.busStats()).toMatchObject({
        connected: true,
        mode: 'tracking',
        localDrops: 0,
      });
    });

    it('is off with bus: false, and without an L1', async () => {
      expect((await start({ bus: false })).engine.busStats()).toBeUndefined();
      expect((await start({ local: undefined })).engine.busStats()).toBeUndefined();
    });

    it('fails bootstrap when asked for without an L1 in front of Redis', async () => {
      await expect(
        createTestCache({
          namespace: NS,
          shared: { backend: 'redis', url: server.url },
          bus: true,
        }),
      ).rejects.toThrow(/option "bus" needs a local tier in front of a Redis shared tier/);
      await expect(
        createTestCache({ namespace: NS, local: { backend: 'memory' }, bus: { tracking: true } }),
      ).rejects.toBeInstanceOf(CacheError);
    });

    it('rejects malformed bus options, naming them', async () => {
      await expect(createTestCache({ bus: 'yes' as never })).rejects.toThrow(/"bus"/);
      await expect(createTestCache({ bus: { channel: '' } })).rejects.toThrow(/bus\.channel/);
      await expect(createTestCache({ bus: { tracking: 1 as never } })).rejects.toThrow(
        /bus\.tracking/,
      );
      await expect(createTestCache({ bus: { chanel: 'x' } as never })).rejects.toThrow(
        /bus\.chanel/,
      );
    });
  });

  for (const tracking of [true, false]) {
    describe(`another instance's L1 is evicted (${tracking ? 'tracking' : 'pub/sub'} mode)`, () => {
      let a: Instance;
      let b: Instance;
      let barriers = 0;
      /** Resolves once B has applied every message A sent before: A's pattern delete, sent last. */
      const barrier = async () => {
        const key = `barrier:${++barriers}`;
        await b.cache.set(key, true, { tier: 'local' });
        await a.cache.deletePattern('barrier:*');
        await waitFor(() => b.inLocal(key) === undefined, 'B applies the barrier');
      };
      const setBoth = async (key: string, value: unknown, tags?: string[]) => {
        await a.cache.set(key, value, tags === undefined ? undefined : { tags });
        await barrier();
        expect(await b.cache.get(key)).toEqual(value);
        expect(b.inLocal(key)).toBeDefined(); // backfilled into B's L1
      };
      const evictedOnB = (key: string) =>
        waitFor(() => b.inLocal(key) === undefined, `B's L1 drops ${key}`);

      afterEach(() => {
        expect(a.engine.busStats()?.mode).toBe(tracking ? 'tracking' : 'pubsub');
      });

      const both = async () => {
        a = await start({ bus: { tracking } });
        b = await start({ bus: { tracking } });
      };

      it('by delete', async () => {
        await both();
        await setBoth('user:1', { name: 'old' });
        await a.cache.delete('user:1');
        await evictedOnB('user:1');
        expect(await b.cache.get('user:1')).toBeUndefined();
      });

      it('by a delete of a key only B held (tier local)', async () => {
        await both();
        await b.cache.set('mine', 1, { tier: 'local' });
        await a.cache.delete('mine');
        await evictedOnB('mine');
      });

      it('by deletePattern, deleteByTag and clear', async () => {
        await both();
        await setBoth('user:1:posts', 1);
        await setBoth('post:9', 2, ['posts']);
        await setBoth('other', 3);
        await a.cache.deletePattern('user:1:*');
        await evictedOnB('user:1:posts');
        await a.cache.deleteByTag('posts');
        await evictedOnB('post:9');
        expect(b.inLocal('other')).toBeDefined();
        await a.cache.clear();
        await evictedOnB('other');
      });

      it('by a write: set, mset, merge and a stored getOrSet result', async () => {
        await both();
        await setBoth('price', 100);
        await a.cache.set('price', 200);
        await evictedOnB('price');
        expect(await b.cache.get('price')).toBe(200);
        await a.cache.mset([['price', 300]]);
        await evictedOnB('price');
        expect(await b.cache.get('price')).toBe(300);
        await setBoth('doc', { a: 1, b: 1 });
        await a.cache.merge('doc', { b: 2 });
        await evictedOnB('doc');
        expect(await b.cache.get('doc')).toEqual({ a: 1, b: 2 });
        await b.cache.set('computed', 'old', { tier: 'local' });
        expect(await a.cache.getOrSet('computed', () => 'new')).toBe('new');
        await evictedOnB('computed');
        expect(await b.cache.get('computed')).toBe('new');
      });

      it('never by its own writes and invalidations', async () => {
        await both();
        await a.cache.set('k', 1);
        await a.cache.delete('absent');
        await a.cache.deletePattern('nothing:*');
        await a.cache.set('k2', 2);
        const before = a.engine.busStats()!.received;
        await b.cache.deletePattern('zzz:*'); // published after A's own messages
        await waitFor(() => a.engine.busStats()!.received > before, "A receives B's message");
        expect(a.engine.busStats()!.received).toBe(before + 1);
        expect(a.inLocal('k')).toBeDefined();
        expect(a.inLocal('k2')).toBeDefined();
      });
    });
  }

  it('a change made in Redis by any other client evicts L1 (tracking)', async () => {
    const a = await start();
    const other = new Redis(server.url, defaultRedisOptions());
    try {
      await waitUntilReady(other, 2_000);
      await a.cache.set('config', { flag: false });
      expect(a.inLocal('config')).toBeDefined();
      await other.del(`${NS}:config`);
      await waitFor(() => a.inLocal('config') === undefined, 'L1 drops a key deleted in Redis');
      expect(await a.cache.get('config')).toBeUndefined();
    } finally {
      await closeRedis(other);
    }
  });

  for (const tracking of [true, false])
    it(`the fence of a batch of writes is one PING, sent once their last answer has arrived (${tracking ? 'tracking' : 'pub/sub'})`, async () => {
      // A talks to Redis through a proxy that holds back every answer: its writes reach Redis,
      // but their answers do not reach A, so no PING may follow them on A's connection yet (a
      // PING sent before the answers arrived would prove nothing about the evictions Redis owes).
      // The answers then reach A in three reads: one PING, after the last.
      // MONITOR shows what Redis received from each connection, in the order it ran it.
      const proxy = await TcpProxy.start(server.port);
      const other = new Redis(server.url, defaultRedisOptions());
      let monitor: Redis | undefined;
      try {
        await waitUntilReady(other, 2_000);
        const a = await instance(proxy.url, { bus: { tracking } });
        open.push(a);
        await a.cache.set('warm', 0);
        const watched = await monitorCommands(other);
        monitor = watched.monitor;
        const { seen, mark } = watched;
        const ranBy = (source: string, command: string) =>
          seen.filter((s) => s.source === source && s.args[0] === command).length;
        const probe = new Redis(server.url, defaultRedisOptions());
        try {
          await waitUntilReady(probe, 2_000);
          proxy.holdReplies();
          let resolved = 0;
          const writes = Array.from({ length: 50 }, (_, i) =>
            a.cache.set(`batch:${i}`, i).then(() => resolved++),
          );
          await waitFor(
            async () => (await probe.exists(`${NS}:batch:49`)) === 1,
            'Redis runs the held writes',
          );
          // `seen` holds the writes once the mark is in it. (Not once the EXISTS above is: an
          // earlier one of the poll, which Redis ran before the writes, could be all it holds.)
          await mark(probe, 'writes-ran');
          const writer = seen.find((s) => s.args[0] === 'set')!.source;
          expect(ranBy(writer, 'set')).toBe(50);
          expect(ranBy(writer, 'ping')).toBe(0);
          expect(resolved).toBe(0);
          // Two thirds of the answers, in two reads: A parses them (its queue of commands waiting
          // for an answer shrinks), and sends no PING, since Redis still owes it answers.
          const connection = busConnectionOf(a.engine.shared!.backend) as Redis;
          for (const share of [1 / 3, 1 / 2]) {
            const waiting = connection.commandQueue.length;
            proxy.releaseReplies(share);
            await waitFor(() => connection.commandQueue.length < waiting, 'A reads a part');
          }
          // Redis ran what A sent before the mark.
          await mark(probe, 'two-thirds-read');
          expect(ranBy(writer, 'ping')).toBe(0);
          expect(resolved).toBe(0);
          proxy.heal();
          await Promise.all(writes);
          expect(resolved).toBe(50);
          await waitFor(() => ranBy(writer, 'ping') > 0, "MONITOR reports the fence's PING");
          // One PING for the batch, however many reads brought its answers; none per write.
          await mark(probe, 'resolved');
          expect(ranBy(writer, 'ping')).toBe(1);
        } finally {
          await closeRedis(probe);
        }
      } finally {
        await Promise.all(open.splice(0).map((i) => i.engine.close()));
        if (monitor !== undefined) await closeRedis(monitor);
        await closeRedis(other);
        await proxy.close();
      }
    });

  it('every write resolves after a PING that Redis ran after the write (staggered writes, tracking)', async () => {
    // Writes started one or two turns of the event loop apart: their answers arrive in many
    // reads, some while the PING of an earlier read is unanswered, which must not serve them.
    const a = await start();
    const other = new Redis(server.url, defaultRedisOptions());
    const probe = new Redis(server.url, defaultRedisOptions());
    let monitor: Redis | undefined;
    try {
      await Promise.all([waitUntilReady(other, 2_000), waitUntilReady(probe, 2_000)]);
      await a.cache.set('warm', 0);
      const watched = await monitorCommands(other);
      monitor = watched.monitor;
      const { seen } = watched;
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 60; i++) {
        // Once the write resolved, the probe names it: Redis runs that after the write's fence.
        writes.push(a.cache.set(`staggered:${i}`, i).then(() => probe.echo(`resolved:${i}`)));
        await new Promise((resolve) => setImmediate(resolve));
        if (i % 3 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(writes);
      await waitFor(
        () => seen.filter((s) => s.args[0] === 'echo').length === 60,
        'MONITOR reports every probe',
      );
      const writer = seen.find((s) => s.args[0] === 'set')!.source;
      const ran = (command: string, arg: string) =>
        seen.findIndex((s) => s.args[0] === command && s.args[1] === arg);
      for (let i = 0; i < 60; i++) {
        const set = ran('set', `${NS}:staggered:${i}`);
        const resolved = ran('echo', `resolved:${i}`);
        const pinged = seen
          .slice(set + 1, resolved)
          .some((s) => s.source === writer && s.args[0] === 'ping');
        expect({ write: i, set: set >= 0, pinged }).toEqual({ write: i, set: true, pinged: true });
      }
    } finally {
      if (monitor !== undefined) await closeRedis(monitor);
      await Promise.all([closeRedis(other), closeRedis(probe)]);
    }
  });

  it("pub/sub: an untagged write's message follows its SET without waiting for the answer", async () => {
    // A talks to Redis through a proxy that holds back every answer: A's SET and PUBLISH still
    // reach Redis, so B hears of the write while A's set() has not resolved (nor seen the SET's answer).
    const proxy = await TcpProxy.start(server.port);
    try {
      const a = await instance(proxy.url, { bus: { tracking: false } });
      open.push(a);
      const b = await start({ bus: { tracking: false } });
      await a.cache.set('price', 100);
      expect(await b.cache.get('price')).toBe(100);
      expect(b.inLocal('price')).toBeDefined();
      proxy.holdReplies();
      let resolved = false;
      const write = a.cache.set('price', 200).then(() => (resolved = true));
      await waitFor(() => b.inLocal('price') === undefined, "B's L1 drops the key");
      expect(resolved).toBe(false);
      expect(await b.cache.get('price')).toBe(200); // Redis ran the SET before the PUBLISH
      proxy.heal();
      await write;
      // A tagged write registers its tags first: its message waits for the write to be done.
      await a.cache.set('tagged', 1, { tags: ['t'] });
      expect(await b.cache.get('tagged')).toBe(1);
      proxy.holdReplies();
      const tagged = a.cache.set('tagged', 2, { tags: ['t'] });
      await b.cache.get('other'); // a round trip of B's while A's registration waits
      expect(b.inLocal('tagged')).toBeDefined();
      proxy.heal();
      await tagged;
      await waitFor(() => b.inLocal('tagged') === undefined, "B's L1 drops the tagged key");
      expect(await b.cache.get('tagged')).toBe(2);
    } finally {
      await Promise.all(open.splice(0).map((i) => i.engine.close()));
      await proxy.close();
    }
  });

  it('drops its whole L1 after a gap in the subscription', async () => {
    const a = await start();
    await a.cache.set('k', 1);
    expect(a.inLocal('k')).toBeDefined();
    await server.command('CLIENT KILL TYPE pubsub');
    await waitFor(() => (a.engine.busStats()?.localDrops ?? 0) >= 1, 'an L1 drop after the gap');
    expect(a.inLocal('k')).toBeUndefined();
    await waitFor(() => a.engine.busStats()?.connected === true, 'the bus reconnects');
  });

  describe('no resurrection (one instance)', () => {
    const ROUNDS = 30;
    const READERS = 5;

    it('an L2 read in flight while delete() runs does not put the deleted value back', async () => {
      const a = await start();
      for (let round = 0; round < ROUNDS; round++) {
        const key = `r:${round}`;
        await a.cache.set(key, 'old');
        await a.engine.local!.delete([`${NS}:${key}`]); // only in Redis now
        const reads = Array.from({ length: READERS }, () => a.cache.get(key));
        await a.cache.delete(key);
        await Promise.all(reads);
        expect(a.inLocal(key)).toBeUndefined();
        expect(await a.cache.get(key)).toBeUndefined();
      }
    });

    for (const kind of ['tag', 'pattern', 'clear'] as const) {
      it(`reads during a ${kind} invalidation's round trips do not refill L1`, async () => {
        const a = await start();
        for (let round = 0; round < ROUNDS; round++) {
          const key = `t:${round}`;
          // Enough entries that the Redis side takes several round trips.
          await Promise.all(
            Array.from({ length: 50 }, (_, i) =>
              a.cache.set(`${key}:${i}`, i, { tags: ['group'] }),
            ),
          );
          const invalidation =
            kind === 'tag'
              ? a.cache.deleteByTag('group')
              : kind === 'pattern'
                ? a.cache.deletePattern(`${key}:*`)
                : a.cache.clear();
          const reads: Array<Promise<unknown>> = [];
          for (let i = 0; i < READERS; i++) {
            await Promise.resolve();
            reads.push(a.cache.get(`${key}:${i}`));
          }
          await invalidation;
          await Promise.all(reads);
          for (let i = 0; i < READERS; i++) {
            expect(a.inLocal(`${key}:${i}`)).toBeUndefined();
            expect(await a.cache.get(`${key}:${i}`)).toBeUndefined();
          }
        }
      });
    }

    it('a getOrSet that starts after a delete completed does not join the older computation, whose value is not stored', async () => {
      const a = await start();
      const slow = deferred<string>();
      const first = a.cache.getOrSet('report', () => slow.promise);
      await a.cache.delete('report');
      const second = a.cache.getOrSet('report', () => 'new');
      await expect(second).resolves.toBe('new');
      slow.resolve('old');
      await expect(first).resolves.toBe('old');
      expect(await a.cache.get('report')).toBe('new');
    });

    it("tier: 'shared' reads and fills only L2; tier: 'local' never asks L2", async () => {
      const a = await start();
      await a.cache.set('s', 'in both');
      await a.engine.local!.delete([`${NS}:s`]);
      expect(await a.cache.getOrSet('s', () => 'unused', { tier: 'shared' })).toBe('in both');
      expect(a.inLocal('s')).toBeUndefined();
      expect(await a.cache.getOrSet('fresh', () => 'computed', { tier: 'shared' })).toBe(
        'computed',
      );
      expect(a.inLocal('fresh')).toBeUndefined();
      await a.cache.set('l', 'shared only', { tier: 'shared' });
      expect(await a.cache.getOrSet('l', () => 'local', { tier: 'local' })).toBe('local');
      expect(await a.cache.get('l')).toBe('local'); // L1 now, L2 untouched
    });
  });

  describe('no resurrection (two instances)', () => {
    it("B's L2 reads that overlap A's delete do not put the deleted value into B's L1", async () => {
      const a = await start();
      const b = await start();
      for (let round = 0; round < 30; round++) {
        const key = `x:${round}`;
        await a.cache.set(key, 'old');
        const reads = Array.from({ length: 5 }, () => b.cache.get(key));
        await a.cache.delete(key);
        await Promise.all(reads);
        await waitFor(() => b.inLocal(key) === undefined, `B's L1 holds no ${key}`);
        expect(await b.cache.get(key)).toBeUndefined();
      }
    });
  });
});
