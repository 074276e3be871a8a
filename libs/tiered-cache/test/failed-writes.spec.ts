import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import type { RedisStore } from '../src/backends/redis.store.js';
import type { CacheService } from '../src/cache.service.js';
import type { InvalidationEvent } from '../src/core/invalidation.js';
import type { Tier } from '../src/core/tier.js';
import type { TieredCache } from '../src/core/tiered-cache.js';
import type { CacheEntry } from '../src/interfaces/cache-backend.interface.js';
import { closeRedis } from './bus-test-node.js';
import { RedisServerHarness } from './redis-server.harness.js';
import { TcpProxy } from './tcp-proxy.js';
import { createTestCache, FakeClock, RecordingLogger } from './test-cache.js';
import { waitFor } from './wait-for.js';

/** Issue 10, point 3: a tier that cannot store a new value stops serving the old one. */
describe('a write that fails in a memory tier', () => {
  let engine: TieredCache | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  it('drops the old value from the tier that refused the new one (E_ENTRY_TOO_LARGE, unserializable)', async () => {
    let cache: CacheService;
    ({ cache, engine } = await createTestCache({
      namespace: 'mem',
      local: { backend: 'memory', maxBytes: 10_000 },
      shared: { backend: 'memory' },
    }));
    const inLocal = (key: string) =>
      engine!.local!.backend.get(`mem:${key}`) as CacheEntry | undefined;
    const inShared = (key: string) =>
      engine!.shared!.backend.get(`mem:${key}`) as CacheEntry | undefined;

    await cache.set('price', 100);
    const big = 'x'.repeat(20_000);
    await cache.set('price', big); // too large for L1 only
    expect(inLocal('price')).toBeUndefined();
    expect(inShared('price')?.value).toBe(big);
    expect(await cache.get('price')).toBe(big);

    await cache.set('doc', { v: 1 });
    await cache.set('doc', { v: 2, fn: () => 'not data' }); // refused by both tiers
    expect(inLocal('doc')).toBeUndefined();
    expect(inShared('doc')).toBeUndefined();
    expect(await cache.get('doc')).toBeUndefined();
    expect(engine.local!.hasMissed || engine.shared!.hasMissed).toBe(false);
  });
});

describe('a write that fails in Redis, on a real redis-server', () => {
  let redis: RedisServerHarness;
  let admin: Redis;
  let engine: TieredCache | undefined;
  let cache: CacheService;
  let logger: RecordingLogger;
  const clock = new FakeClock();

  beforeAll(async () => {
    redis = await RedisServerHarness.start();
    admin = new Redis(redis.url, { lazyConnect: true });
    await admin.connect();
  });
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
    if (!redis.running) await redis.restart();
    redis.resume();
    await admin.config('SET', 'maxmemory', '0');
  });
  afterAll(async () => {
    await admin.quit(); // ready by now: every test leaves Redis running
    await redis.stop();
  });

  /** An engine on the harness (or `url`), whose shared tier reports its replays. */
  async function start(
    namespace: string,
    options: { url?: string; local?: boolean; maxEntryBytes?: number } = {},
  ): Promise<{ shared: Tier; replays: InvalidationEvent[] }> {
    logger = new RecordingLogger();
    ({ cache, engine } = await createTestCache(
      {
        namespace,
        clock: clock.read,
        ...(options.local ? { local: { backend: 'memory' as const } } : {}),
        shared: {
          backend: 'redis',
          url: options.url ?? redis.url,
          timeout: '100ms',
          maxEntryBytes: options.maxEntryBytes,
        },
      },
      logger,
    ));
    const replays: InvalidationEvent[] = [];
    engine.shared!.onReplayed = (invalidation) => replays.push(invalidation);
    return { shared: engine.shared!, replays };
  }

  function client(): Redis {
    return (engine!.shared!.backend as unknown as { store: RedisStore }).store.client as Redis;
  }

  /** Resolves once the engine's connection is ready again after it was lost. */
  async function reconnected(): Promise<void> {
    const connection = client();
    await waitFor(() => connection.status !== 'ready', 'the connection notices it was lost');
    await new Promise<void>((resolve) => connection.once('ready', () => resolve()));
  }

  /** Opens the breaker of the shared tier: three reads time out on a paused Redis. */
  async function openBreaker(shared: Tier): Promise<void> {
    for (let i = 0; i < 3; i++) expect(await cache.get(`cold:${i}`)).toBeUndefined();
    expect(shared.unavailable).toBe(true);
  }

  it('deletes the old value when Redis refuses the new one (OOM with noeviction)', async () => {
    const { shared } = await start('oom');
    await cache.set('price', 100);
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', '1');
    await cache.set('price', 200);
    await shared.idle();
    expect(await admin.exists('oom:price')).toBe(0);
    expect(await cache.get('price')).toBeUndefined();
    expect(cache.stats().tiers.shared!.errors).toBe(1);
    expect(shared.hasMissed).toBe(false);
  });

  it('keeps reading from a Redis that refuses every write (OOM): a full store is not an outage', async () => {
    const { shared } = await start('full');
    await cache.set('kept', 1);
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', '1');
    for (let i = 0; i < 5; i++) await cache.set(`refused:${i}`, i);
    await shared.idle();
    expect(cache.stats().tiers.shared!.errors).toBe(5);
    expect(shared.unavailable).toBe(false); // five refusals did not open the breaker
    expect(await cache.get('kept')).toBe(1); // read from Redis: there is no L1 here
    expect(logger.matching('warn', 'OOM')).toHaveLength(1); // logged once, as what it is
  });

  it('deletes the old value when the new one is over maxEntryBytes', async () => {
    const { shared } = await start('size', { maxEntryBytes: 1_000 });
    await cache.set('page', 'small');
    await cache.set('page', 'x'.repeat(2_000));
    await shared.idle();
    expect(await admin.exists('size:page')).toBe(0);
    expect(await cache.get('page')).toBeUndefined();
    expect(logger.matching('warn', 'E_ENTRY_TOO_LARGE')).toHaveLength(1);
  });

  it('remembers a write skipped by the open breaker, and deletes the old value once Redis answers, without a read', async () => {
    const { shared, replays } = await start('skipped');
    await cache.set('price', 100);
    redis.pause();
    await openBreaker(shared);
    const reads = cache.stats().tiers.shared;
    await cache.set('price', 200); // skipped: Redis still holds 100
    expect(shared.hasMissed).toBe(true);
    redis.resume();
    expect(await admin.get('skipped:price')).not.toBeNull();
    clock.advance(2_000); // the breaker lets a trial call through: the replay timer makes it
    await waitFor(() => replays.length > 0, 'the replay', 5_000);
    expect(replays).toEqual([{ kind: 'keys', keys: ['skipped:price'] }]);
    expect(await admin.exists('skipped:price')).toBe(0);
    expect(shared.hasMissed).toBe(false);
    expect(cache.stats().tiers.shared).toEqual(reads); // no read made it happen
    expect(await cache.get('price')).toBeUndefined();
  });

  it('replays what it missed while Redis was down as soon as it restarts, and tells onReplayed', async () => {
    const { shared, replays } = await start('restart', { local: true });
    await cache.set('a', 1);
    await redis.kill();
    await cache.set('a', 2); // refused at once: the connection is closed
    await cache.delete('b');
    await cache.deletePattern('p:*');
    await cache.set('a', 3); // the breaker is open by now: skipped
    expect(shared.unavailable).toBe(true);
    expect(shared.hasMissed).toBe(true);
    await redis.restart();
    await new Promise<void>((resolve) =>
      client().status === 'ready' ? resolve() : client().once('ready', () => resolve()),
    );
    clock.advance(2_000);
    await waitFor(() => !shared.hasMissed, 'the replay', 5_000);
    expect(replays).toHaveLength(2);
    expect([...(replays[0] as { keys: readonly string[] }).keys].sort()).toEqual([
      'restart:a',
      'restart:b',
    ]);
    expect(replays[1]).toEqual({ kind: 'pattern', glob: 'restart:p:*' });
    expect(logger.matching('log', 'replayed 2 invalidation(s)')).toHaveLength(1);
    expect(cache.stats().tiers.shared).toMatchObject({ hits: 0, misses: 0 });
  });

  it('never lets a write that timed out on a paused Redis (SIGSTOP) outlive a newer write made meanwhile', async () => {
    const { shared } = await start('late');
    await cache.set('plain', 'old');
    await cache.set('tagged', 'old', { tags: ['t'] });
    redis.pause();
    // Both miss their deadline; the tier deletes behind them (held in the socket too). The tagged
    // write is two steps: its SET is only sent once Redis answers the tag index, after its delete.
    await cache.set('plain', 'late');
    await cache.set('tagged', 'late', { tags: ['t'] });
    // Meanwhile another client writes newer values; they complete once Redis runs again.
    const newer = Promise.all([
      admin.set('late:plain', 'newer'),
      admin.set('late:tagged', 'newer'),
    ]);
    redis.resume();
    expect(await newer).toEqual(['OK', 'OK']);
    // The breaker is still open (the clock has not moved): only the deletes that follow the writes
    // themselves have run. The late values landed after the newer ones, and were deleted behind them.
    await shared.idle();
    expect(await admin.mget('late:plain', 'late:tagged')).toEqual([null, null]);
    clock.advance(2_000);
    await waitFor(() => !shared.hasMissed, 'the replay', 5_000);
    expect(await admin.mget('late:plain', 'late:tagged')).toEqual([null, null]);
    expect(await cache.get('plain')).toBeUndefined();
    expect(await cache.get('tagged')).toBeUndefined();
  });

  it('never sends again, after a reconnection, a write the tier gave up on', async () => {
    const proxy = await TcpProxy.start(redis.port);
    try {
      const { shared } = await start('resend', { url: proxy.url });
      await admin.config('RESETSTAT');
      proxy.blackhole();
      await cache.set('k', 'abandoned'); // held by the network: times out
      proxy.cut(); // the connection is reset with the write unanswered
      await admin.set('resend:k', 'newer');
      proxy.heal();
      await reconnected();
      clock.advance(2_000);
      await shared.idle();
      await waitFor(() => !shared.hasMissed, 'the replay', 5_000);
      const stats = await admin.info('commandstats');
      // Only the other client's SET ever ran: ioredis did not re-send the abandoned one.
      expect(stats).toMatch(/cmdstat_set:calls=1,/);
      expect(await admin.get('resend:k')).toBeNull(); // and the tier deleted the key behind it
    } finally {
      await proxy.close();
    }
  });

  it('bootstraps when Redis comes up a little after the application', async () => {
    await redis.kill();
    logger = new RecordingLogger();
    const starting = createTestCache(
      {
        namespace: 'later',
        shared: { backend: 'redis', url: redis.url, connectTimeout: '5s' },
      },
      logger,
    );
    await redis.restart();
    ({ cache, engine } = await starting);
    expect(logger.matching('warn', 'not reachable')).toHaveLength(0);
    await cache.set('k', 1);
    expect(await admin.exists('later:k')).toBe(1);
    expect(logger.matching('warn', 'may send a command')).toHaveLength(0);
  });

  it('warns once about a given client that could re-send commands, without changing it', async () => {
    const unsafe = new Redis(redis.url);
    const safe = new Redis(redis.url, {
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
    });
    try {
      logger = new RecordingLogger();
      ({ engine } = await createTestCache(
        { namespace: 'given', shared: { backend: 'redis', client: unsafe } },
        logger,
      ));
      const warnings = logger.matching('warn', 'may send a command');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(
        'the given client may send a command after the cache gave up on it',
      );
      expect(warnings[0]).toContain(
        'enableOfflineQueue: false, autoResendUnfulfilledCommands: false',
      );
      expect(unsafe.options).toMatchObject({
        enableOfflineQueue: true,
        autoResendUnfulfilledCommands: true,
      });
      await engine.close();

      logger = new RecordingLogger();
      ({ engine } = await createTestCache(
        { namespace: 'given', shared: { backend: 'redis', client: safe } },
        logger,
      ));
      expect(logger.matching('warn', 'may send a command')).toHaveLength(0);
    } finally {
      await engine?.close();
      engine = undefined;
      await Promise.all([closeRedis(unsafe), closeRedis(safe)]);
    }
  });
});
