import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import type { CacheService } from '../src/cache.service.js';
import type { TieredCache } from '../src/core/tiered-cache.js';
import type { Duration } from '../src/interfaces/duration.interface.js';
import { closeRedis } from './bus-test-node.js';
import { RedisServerHarness } from './redis-server.harness.js';
import { TcpProxy } from './tcp-proxy.js';
import { createTestCache, FakeClock, RecordingLogger } from './test-cache.js';
import { waitFor } from './wait-for.js';

/**
 * Issue 13, point 18: Redis faults on a real redis-server, with two instances (memory L1, Redis L2,
 * the bus) sharing it. Whatever the fault, no cache call rejects, and once it is over no instance
 * serves a value older than the last write or invalidation made during it.
 */
describe('Redis faults, two instances on a real redis-server', () => {
  let redis: RedisServerHarness;
  let admin: Redis;
  let proxy: TcpProxy | undefined;
  let engines: TieredCache[] = [];
  const clock = new FakeClock();
  const logger = new RecordingLogger();

  beforeAll(async () => {
    redis = await RedisServerHarness.start(['--enable-debug-command', 'yes']);
    admin = new Redis(redis.url, { lazyConnect: true });
    await admin.connect();
  });
  afterEach(async () => {
    await Promise.all(engines.map((engine) => engine.close()));
    engines = [];
    await proxy?.close();
    proxy = undefined;
    await admin.config('SET', 'maxmemory', '0');
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.flushall();
    logger.lines.length = 0;
  });
  afterAll(async () => {
    await closeRedis(admin);
    await redis?.stop();
  });

  interface Instance {
    readonly cache: CacheService;
    readonly engine: TieredCache;
  }

  /** One instance: memory L1 and Redis L2 (at `url`; the default 250 ms deadline unless given), and the bus. */
  async function instance(
    namespace: string,
    url = redis.url,
    timeout: Duration = '250ms',
  ): Promise<Instance> {
    const { cache, engine } = await createTestCache(
      {
        namespace,
        clock: clock.read,
        local: { backend: 'memory' },
        shared: { backend: 'redis', url, timeout },
      },
      logger,
    );
    engines.push(engine);
    return { cache, engine };
  }

  /** Calls made through the cache; a rejection is recorded (and fails the test), never thrown. */
  const failures: unknown[] = [];
  const call = <T>(op: () => Promise<T>): Promise<T | undefined> =>
    op().catch((err: unknown) => {
      failures.push(err);
      return undefined;
    });

  const KEYS = Array.from({ length: 10 }, (_, i) => `k${i}`);

  /** Before the fault: every key holds v1 in Redis and in both L1s. */
  async function warm(a: Instance, b: Instance): Promise<void> {
    for (const key of KEYS) await a.cache.set(key, 'v1', { tags: [`tag:${key}`] });
    await a.cache.set('barrier', 'b');
    for (const key of [...KEYS, 'barrier']) {
      expect(await b.cache.get(key)).toBe(key === 'barrier' ? 'b' : 'v1');
      expect(await a.cache.get(key)).toBe(key === 'barrier' ? 'b' : 'v1');
    }
  }

  /**
   * During the fault: A overwrites k0-k3, deletes k4-k5, pattern-deletes k6, tag-deletes k7 and
   * recomputes k8 through getOrSet; both instances keep reading every key meanwhile.
   */
  async function changeDuringFault(a: Instance, b: Instance): Promise<void> {
    const reads = () =>
      Promise.all(
        [a, b].flatMap(({ cache }) => KEYS.map((key) => call(() => cache.get<string>(key)))),
      );
    await reads();
    await Promise.all([
      ...['k0', 'k1', 'k2', 'k3'].map((key) => call(() => a.cache.set(key, 'v2'))),
      call(() => a.cache.delete('k4', 'k5')),
      call(() => a.cache.deletePattern('k6*')),
      call(() => a.cache.deleteByTag('tag:k7')),
      reads(),
    ]);
    await call(() => a.cache.delete('k8'));
    await call(() => a.cache.getOrSet('k8', () => 'v2'));
    // The instance that made the changes never reads the values they replaced, even now.
    const changed = KEYS.slice(0, 9);
    const seen = await Promise.all(changed.map((key) => call(() => a.cache.get<string>(key))));
    expect(changed.filter((_, i) => seen[i] === 'v1')).toEqual([]);
    await reads();
  }

  /**
   * After the fault: A replays what its Redis tier missed and publishes what its bus still holds;
   * then a delete of `barrier` (which B holds in L1) goes through Redis and the bus: once B has
   * dropped it, B has seen every invalidation A made before.
   */
  async function settle(a: Instance, b: Instance): Promise<void> {
    clock.advance(2_000); // the breakers let a trial call through
    await waitFor(
      () =>
        [a, b].every(
          ({ engine }) =>
            !engine.shared!.hasMissed &&
            engine.busStats()!.connected &&
            engine.busStats()!.queued === 0,
        ),
      'the tiers replayed and the buses drained',
      10_000,
    ).catch((err: unknown) => {
      const state = [a, b].map(({ engine }) => ({
        missed: engine.shared!.hasMissed,
        unavailable: engine.shared!.unavailable,
        bus: engine.busStats(),
      }));
      throw new Error(`${(err as Error).message}: ${JSON.stringify(state)}`);
    });
    await Promise.all([a.engine.shared!.idle(), b.engine.shared!.idle()]);
    await a.cache.delete('barrier');
    const barrier = b.engine.local!.backend;
    await waitFor(
      () => barrier.get(`${b.cache.namespace}:barrier`) === undefined,
      "B's L1 dropped the barrier",
    );
  }

  /**
   * Every read of either instance gives the latest value or a miss (a write the fault made fail
   * leaves a miss; `getOrSet` then computes 'origin'), never the v1 of a key changed meanwhile.
   */
  async function expectNoStaleValue(a: Instance, b: Instance): Promise<void> {
    const latest: Record<string, string | undefined> = {
      k0: 'v2',
      k1: 'v2',
      k2: 'v2',
      k3: 'v2',
      k8: 'v2',
      k9: 'v1',
    };
    for (const { cache } of [a, b]) {
      for (const key of KEYS) {
        const allowed = [latest[key], 'origin'];
        const value = await call(() => cache.get<string>(key));
        if (value !== undefined) expect([key, allowed.includes(value)]).toEqual([key, true]);
        const computed = await call(() => cache.getOrSet(key, () => 'origin'));
        expect([key, allowed.includes(computed)]).toEqual([key, true]);
      }
    }
    expect(failures).toEqual([]);
    expect(logger.matching('warn', 'E_CORRUPT_ENTRY')).toEqual([]);
  }

  it('DEBUG SLEEP: Redis blocks every client for 500 ms', async () => {
    const a = await instance('sleep');
    const b = await instance('sleep');
    await warm(a, b);
    const sleeper = new Redis(redis.url);
    await sleeper.ping();
    const asleep = sleeper.debug('SLEEP', '0.5');
    await changeDuringFault(a, b);
    expect(a.cache.stats().tiers.shared!.errors).toBeGreaterThan(0); // the fault did hit A
    await asleep;
    await closeRedis(sleeper);
    await settle(a, b);
    await expectNoStaleValue(a, b);
  });

  it('CLIENT PAUSE WRITE: Redis answers reads but holds writes for 500 ms', async () => {
    const a = await instance('pause');
    const b = await instance('pause');
    await warm(a, b);
    expect(await admin.client('PAUSE', '500', 'WRITE')).toBe('OK');
    await changeDuringFault(a, b);
    expect(a.cache.stats().tiers.shared!.errors).toBeGreaterThan(0);
    await waitFor(async () => (await admin.set('pause:probe', '1')) === 'OK', 'the pause ended');
    await settle(a, b);
    await expectNoStaleValue(a, b);
  });

  it('500 ms added to every round trip by a TCP proxy', async () => {
    proxy = await TcpProxy.start(redis.port);
    const a = await instance('latency', proxy.url);
    const b = await instance('latency', proxy.url);
    await warm(a, b);
    proxy.delay(250); // each way
    await changeDuringFault(a, b);
    expect(a.cache.stats().tiers.shared!.errors).toBeGreaterThan(0);
    proxy.delay(0);
    await waitFor(() => proxy!.heldBytes === 0, 'the delayed bytes delivered');
    await settle(a, b);
    await expectNoStaleValue(a, b);
  });

  for (const policy of ['allkeys-lru', 'allkeys-random', 'volatile-lru'] as const) {
    it(`maxmemory with ${policy}: an entry whose tag set was evicted is never served after its tag delete`, async () => {
      // The server can evict when the cache connects (the store checks tagged hits from its
      // first INFO on; a CONFIG SET later would be seen within 5 s).
      const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
      await admin.config('SET', 'maxmemory-policy', policy);
      await admin.config('SET', 'maxmemory', String(used + 1024 * 1024));
      await admin.config('RESETSTAT');
      // Redis only (no L1): every read is a read of Redis.
      const { cache, engine } = await createTestCache(
        { namespace: 'evict', shared: { backend: 'redis', url: redis.url, timeout: '2s' } },
        logger,
      );
      engines.push(engine);
      // Four times maxmemory of entries, a tag per round of 50: Redis evicts entries and tag sets
      // alike (every key has a TTL, so the volatile policies too).
      const body = 'x'.repeat(2_000);
      const keys: string[] = [];
      const ROUNDS = 40;
      for (let round = 0; round < ROUNDS; round++) {
        const batch = Array.from({ length: 50 }, (_, i) => `e:${round}:${i}`);
        keys.push(...batch);
        await Promise.all(
          batch.map((key) => call(() => cache.set(key, { key, body }, { tags: [`g${round}`] }))),
        );
      }
      const evicted = Number(/evicted_keys:(\d+)/.exec(await admin.info('stats'))![1]);
      expect(evicted).toBeGreaterThan(0);
      await admin.config('SET', 'maxmemory', '0');

      const tags = Array.from({ length: ROUNDS }, (_, round) => `g${round}`);
      await cache.deleteByTag(...tags);
      // The entries the tag delete did not find: their registration went, they stayed.
      const left = (
        await Promise.all(
          keys.map(async (key) => ((await admin.exists(`evict:${key}`)) ? key : '')),
        )
      ).filter((key) => key !== '');
      expect(left.length).toBeGreaterThan(0); // else this test could not fail
      // Every value was written before the tag delete: not one is served.
      const read = await call(() => cache.mget(keys));
      expect(read!.filter((value) => value !== undefined)).toEqual([]);
      for (const key of left) expect(await admin.exists(`evict:${key}`)).toBe(0);
      expect(failures).toEqual([]);
      expect(cache.stats().errors).toBe(0);
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
    });
  }

  it('maxmemory with allkeys-lru under churn: evictions are misses, never decode errors', async () => {
    // The server can evict when the instances connect (room enough until the churn).
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    await admin.config('SET', 'maxmemory', '1gb');
    const a = await instance('lru', redis.url, '1s');
    const b = await instance('lru', redis.url, '1s');
    const errors: string[] = [];
    a.cache.on('error', ({ code }) => errors.push(code)); // each engine's tier errors
    b.cache.on('error', ({ code }) => errors.push(code));
    await warm(a, b);
    const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
    await admin.config('SET', 'maxmemory', String(used + 2 * 1024 * 1024));
    // Churn: five times maxmemory of tagged entries written by A, while both instances read old
    // and new keys from Redis (their L1s are dropped every round).
    const body = 'x'.repeat(2_000);
    const read: unknown[] = [];
    for (let round = 0; round < 50; round++) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          call(() =>
            a.cache.set(`churn:${round}:${i}`, { round, i, body }, { tags: [`c${i % 10}`] }),
          ),
        ),
      );
      await Promise.all([a, b].map(({ engine }) => engine.local!.clear('')));
      const keys = Array.from(
        { length: 20 },
        (_, i) => `churn:${(round * 7 + i) % (round + 1)}:${i * 5}`,
      );
      for (const { cache } of [a, b])
        read.push(...(await Promise.all(keys.map((key) => call(() => cache.get(key))))));
    }
    const evicted = Number(/evicted_keys:(\d+)/.exec(await admin.info('stats'))![1]);
    expect(evicted).toBeGreaterThan(1_000);
    // Evicted entries read as misses; every entry read is whole.
    expect(read.filter((value) => value === undefined).length).toBeGreaterThan(0);
    expect(
      read.filter((value) => value !== undefined && (value as { body: string }).body !== body),
    ).toEqual([]);
    // No decode error and no OOM; only, on a loaded machine, a command that missed its deadline.
    expect(errors.filter((code) => code !== 'E_BACKEND_TIMEOUT')).toEqual([]);

    // The changes made under memory pressure are seen by both instances afterwards.
    await changeDuringFault(a, b);
    await admin.config('SET', 'maxmemory', '0');
    await settle(a, b);
    await expectNoStaleValue(a, b);
  });
});
