import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import type { RedisAtomicStore } from '../src/backends/redis-atomic.store.js';
import type { RedisStore } from '../src/backends/redis.store.js';
import type { AtomicByteStoreBackend } from '../src/serialization/byte-store-backend.js';
import type { CacheService } from '../src/cache.service.js';
import type { TieredCache } from '../src/core/tiered-cache.js';
import { RedisServerHarness } from './redis-server.harness.js';
import { createTestCache, FakeClock, RecordingLogger } from './test-cache.js';

/** Resolves with the call's result, or fails the test if it takes longer than `ms` (a hang, not a speed bar). */
async function settlesWithin<T>(ms: number, call: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`call did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([call, hang]);
  } finally {
    clearTimeout(timer);
  }
}

function nextReady(engine: TieredCache): Promise<void> {
  const client = (engine.shared!.backend as unknown as { store: RedisStore }).store.client as Redis;
  return client.status === 'ready'
    ? Promise.resolve()
    : new Promise((resolve) => client.once('ready', () => resolve()));
}

describe('redis backend on a real redis-server', () => {
  let redis: RedisServerHarness;
  let admin: Redis;
  let engine: TieredCache | undefined;

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
  });
  afterAll(async () => {
    admin.disconnect();
    await redis.stop();
  });

  it('stores entries under readable namespaced keys, with a TTL covering TTL + grace', async () => {
    let cache: CacheService;
    ({ cache, engine } = await createTestCache({
      namespace: 'shop:v1',
      shared: { backend: 'redis', url: redis.url },
    }));
    await cache.set('user:42', { id: 42 }, { ttl: '30s', grace: '10s', tags: ['users'] });
    const pttl = await admin.pttl('shop:v1:user:42');
    expect(pttl).toBeGreaterThan(39_000);
    expect(pttl).toBeLessThanOrEqual(40_000);
    // Its tag set: the writes carrying the tag (a token, then the key), scored by their expiry.
    const tagged = 'shop:v1:users{shop:v1:users}tagged';
    const [member, expiresAt] = await admin.zrange(tagged, '0', '-1', 'WITHSCORES');
    expect(member).toMatch(/^[\w-]{11}shop:v1:user:42$/);
    expect(await admin.zcard(tagged)).toBe(1);
    expect(await admin.pexpiretime(tagged)).toBe(Number(expiresAt));
    expect(await admin.pexpiretime('shop:v1:user:42')).toBe(Number(expiresAt));
    expect(await admin.get('shop:v1:user:42{shop:v1:user:42}tags')).toBe(
      JSON.stringify([member!.slice(0, 11), 'shop:v1:users']),
    );
    const raw = await admin.getBuffer('shop:v1:user:42');
    expect(raw!.toString('utf8')).toContain('{"id":42}');
  });

  it('reads a corrupt entry as a miss, deletes it, counts it and logs it once', async () => {
    const logger = new RecordingLogger();
    let cache: CacheService;
    ({ cache, engine } = await createTestCache(
      { namespace: 'corrupt', shared: { backend: 'redis', url: redis.url } },
      logger,
    ));
    await admin.set('corrupt:a', 'not an entry');
    await admin.set('corrupt:b', Buffer.from([1, 1, 0, 0]));
    expect(await cache.get('a')).toBeUndefined();
    expect(await cache.get('b')).toBeUndefined();
    expect(await cache.getOrSet('a', () => 'fresh')).toBe('fresh');
    expect(cache.stats().errors).toBe(2);
    expect(await admin.exists('corrupt:b')).toBe(0);
    expect(logger.matching('warn', 'E_CORRUPT_ENTRY')).toHaveLength(1);
    expect(logger.matching('warn', 'not an entry')).toHaveLength(0);
  });

  it('deletes by pattern with SCAN and UNLINK, never KEYS', async () => {
    let cache: CacheService;
    ({ cache, engine } = await createTestCache({
      namespace: 'scan',
      shared: { backend: 'redis', url: redis.url, timeout: '5s' },
    }));
    await admin.config('RESETSTAT');
    for (let i = 0; i < 2500; i += 250) {
      await cache.mset(Array.from({ length: 250 }, (_, j) => [`item:${i + j}`, i + j] as const));
    }
    await cache.set('other', 1);
    expect(await cache.deletePattern('item:*')).toBe(2500);
    expect(await cache.get('other')).toBe(1);
    const stats = await admin.info('commandstats');
    expect(stats).toContain('cmdstat_scan');
    expect(stats).toContain('cmdstat_unlink');
    expect(stats).not.toContain('cmdstat_keys');
  });

  it('keeps serving from L1 and the origin when Redis is killed, logs the outage once, and recovers', async () => {
    const logger = new RecordingLogger();
    const clock = new FakeClock();
    let cache: CacheService;
    ({ cache, engine } = await createTestCache(
      {
        namespace: 'outage',
        clock: clock.read,
        local: { backend: 'memory' },
        shared: { backend: 'redis', url: redis.url, timeout: '200ms' },
      },
      logger,
    ));
    await cache.set('kept', 'in both tiers');
    await redis.kill();
    for (let i = 0; i < 20; i++) {
      expect(await settlesWithin(1_000, cache.get('kept'))).toBe('in both tiers');
      expect(await settlesWithin(1_000, cache.get(`missing:${i}`))).toBeUndefined();
      await settlesWithin(1_000, cache.set(`new:${i}`, i));
      expect(
        await settlesWithin(
          1_000,
          cache.getOrSet(`computed:${i}`, () => i * 2),
        ),
      ).toBe(i * 2);
    }
    expect(await settlesWithin(1_000, cache.deletePattern('new:*'))).toBe(20);
    expect(await settlesWithin(1_000, cache.deleteByTag('none'))).toBe(0);
    await settlesWithin(1_000, cache.clear());
    expect(cache.stats().tiers.shared!.errors).toBeGreaterThanOrEqual(3);
    expect(logger.matching('error', 'shared tier (redis) is unavailable')).toHaveLength(1);
    expect(logger.matching('warn', 'shared tier')).toHaveLength(0);

    await redis.restart();
    await nextReady(engine);
    clock.advance(2_000);
    await cache.set('after', 'recovered');
    expect(await admin.exists('outage:after')).toBe(1);
    expect(logger.matching('log', 'shared tier (redis) recovered')).toHaveLength(1);
  });

  it('answers within the deadline when Redis hangs (SIGSTOP)', async () => {
    let cache: CacheService;
    ({ cache, engine } = await createTestCache({
      namespace: 'hung',
      shared: { backend: 'redis', url: redis.url, timeout: '150ms' },
    }));
    await cache.set('k', 'v');
    redis.pause();
    const started = performance.now();
    expect(await settlesWithin(2_000, cache.get('k'))).toBeUndefined();
    await settlesWithin(2_000, cache.set('k2', 'v2'));
    expect(
      await settlesWithin(
        2_000,
        cache.getOrSet('k3', () => 'origin'),
      ),
    ).toBe('origin');
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(cache.stats().tiers.shared!.errors).toBeGreaterThanOrEqual(2);
    redis.resume();
  });

  /**
   * An engine whose Redis tier missed a delete, a tag and a pattern while Redis was frozen (done in
   * L1; skipped in L2 by the breaker that three timeouts opened). Redis is still frozen.
   */
  async function cacheThatMissed(namespace: string, logger: RecordingLogger, clock: FakeClock) {
    let cache: CacheService;
    ({ cache, engine } = await createTestCache(
      {
        namespace,
        clock: clock.read,
        local: { backend: 'memory' },
        shared: { backend: 'redis', url: redis.url, timeout: '100ms' },
      },
      logger,
    ));
    await cache.set('user:1', 'old');
    await cache.set('user:2', 'old', { tags: ['users'] });
    await cache.set('page:1', 'old');
    redis.pause();
    for (let i = 0; i < 3; i++)
      expect(await settlesWithin(1_000, cache.get(`cold:${i}`))).toBeUndefined();
    expect(engine.shared!.unavailable).toBe(true); // three timeouts opened the breaker
    await cache.delete('user:1');
    expect(await cache.deleteByTag('users')).toBe(1);
    expect(await cache.deletePattern('page:*')).toBe(1);
    return cache;
  }

  it('replays the invalidations it missed while Redis was unreachable before serving from it again', async () => {
    const logger = new RecordingLogger();
    const clock = new FakeClock();
    const cache = await cacheThatMissed('missed', logger, clock);
    redis.resume();
    expect(await admin.exists('missed:user:1', 'missed:user:2', 'missed:page:1')).toBe(3);

    clock.advance(2_000); // the breaker would let a trial read through now
    for (const key of ['user:1', 'user:2', 'page:1']) expect(await cache.get(key)).toBeUndefined();
    await engine!.shared!.replayed();
    expect(await admin.exists('missed:user:1', 'missed:user:2', 'missed:page:1')).toBe(0);
    expect(logger.matching('log', 'replayed 3 invalidation(s)')).toHaveLength(1);

    // Then L2 serves again.
    await cache.set('user:1', 'new');
    await engine!.local!.delete(['missed:user:1']);
    expect(await cache.get('user:1')).toBe('new');
    expect(cache.stats().tiers.shared!.hits).toBe(1);
  });

  it('replays what it missed once more when it closes, with no read to trigger it', async () => {
    const logger = new RecordingLogger();
    const clock = new FakeClock();
    await cacheThatMissed('lastreplay', logger, clock);
    redis.resume();
    clock.advance(2_000); // the breaker lets a trial call through; no read comes to trigger it
    const keys = ['lastreplay:user:1', 'lastreplay:user:2', 'lastreplay:page:1'];
    expect(await admin.exists(...keys)).toBe(3);
    await engine!.close();
    expect(await admin.exists(...keys)).toBe(0);
    expect(logger.matching('log', 'replayed 3 invalidation(s)')).toHaveLength(1);
    expect(logger.matching('warn', 'not replayed')).toEqual([]);
  });

  it('closes with what it could not replay counted in a warning (never a key)', async () => {
    const logger = new RecordingLogger();
    const clock = new FakeClock();
    await cacheThatMissed('lostreplay', logger, clock);
    redis.resume();
    // No time passed on the tier's clock: its breaker is still open, so the last attempt is
    // skipped as it was during the outage.
    await engine!.close();
    const warnings = logger.matching('warn', 'not replayed');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('closed with 3 missed invalidation(s) not replayed');
    expect(warnings[0]).not.toMatch(/user|page/);
  });

  it('finishes a pattern delete that takes longer than the tier deadline: each command has its own', async () => {
    let cache: CacheService;
    ({ cache, engine } = await createTestCache({
      namespace: 'bulk',
      shared: { backend: 'redis', url: redis.url, timeout: '60ms' },
    }));
    // 400k other keys and 500 matching ones, made inside Redis in one call: a walk of some 400
    // SCAN round trips, while one command stays far below 60 ms even on a loaded machine.
    const fill = 'for i = 1, tonumber(ARGV[1]) do redis.call("SET", KEYS[1] .. i, "x") end';
    await admin.eval(fill, 1, 'bulk:other:', 400_000);
    await admin.eval(fill, 1, 'bulk:victim:', 500);
    const started = performance.now();
    expect(await cache.deletePattern('victim:*')).toBe(500);
    expect(performance.now() - started).toBeGreaterThan(60); // longer than the deadline of one command
    expect(await admin.exists('bulk:victim:1', 'bulk:other:1')).toBe(1);
    expect(cache.stats().tiers.shared!.errors).toBe(0);
    await admin.flushall();
  });

  it('fails a pattern delete on a hung Redis within the deadline of one command', async () => {
    let cache: CacheService;
    ({ cache, engine } = await createTestCache({
      namespace: 'hungbulk',
      shared: { backend: 'redis', url: redis.url, timeout: '150ms' },
    }));
    await cache.set('k', 'v');
    redis.pause();
    try {
      const started = performance.now();
      expect(await settlesWithin(2_000, cache.deletePattern('*'))).toBe(0);
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
      expect(cache.stats().tiers.shared!.errors).toBe(1);
    } finally {
      redis.resume();
    }
  });

  it('does not close a client it was given', async () => {
    const client = new Redis(redis.url);
    let cache: CacheService;
    ({ cache, engine } = await createTestCache({
      namespace: 'given',
      shared: { backend: 'redis', client },
    }));
    await cache.set('k', 1);
    await engine.close();
    engine = undefined;
    expect(await client.get('given:k')).not.toBeNull();
    client.disconnect();
  });

  it('boots and serves from L1 when Redis is down at startup', async () => {
    await redis.kill();
    const logger = new RecordingLogger();
    let cache: CacheService;
    ({ cache, engine } = await createTestCache(
      {
        namespace: 'cold',
        local: { backend: 'memory' },
        shared: { backend: 'redis', url: redis.url, connectTimeout: '100ms' },
      },
      logger,
    ));
    expect(logger.matching('warn', 'not reachable')).toHaveLength(1);
    await cache.set('k', 'local only');
    expect(await cache.get('k')).toBe('local only');
  });
});

describe('redis-atomic primitives', () => {
  let redis: RedisServerHarness;
  let engine: TieredCache;
  let cache: CacheService;
  let backend: AtomicByteStoreBackend;
  const clock = new FakeClock(Date.now());

  beforeAll(async () => {
    redis = await RedisServerHarness.start();
    ({ cache, engine } = await createTestCache({
      namespace: 'atomic',
      clock: clock.read,
      shared: { backend: 'redis-atomic', url: redis.url },
    }));
    backend = engine.shared!.backend as AtomicByteStoreBackend;
  });
  afterAll(async () => {
    await engine.close();
    await redis.stop();
  });

  const entry = (value: unknown) => ({
    value,
    expiresAt: clock.now + 60_000,
    staleUntil: clock.now + 60_000,
    tags: [],
  });

  it('grants a lease to one holder and releases it only with its token', async () => {
    const token = await backend.acquireLease('atomic:job', 5_000);
    expect(token).toEqual(expect.any(String));
    expect(await backend.acquireLease('atomic:job', 5_000)).toBeUndefined();
    expect(await backend.releaseLease('atomic:job', 'someone-else')).toBe(false);
    expect(await backend.acquireLease('atomic:job', 5_000)).toBeUndefined();
    expect(await backend.releaseLease('atomic:job', token!)).toBe(true);
    const next = await backend.acquireLease('atomic:job', 5_000);
    expect(next).toEqual(expect.any(String));
    expect(next).not.toBe(token);
  });

  it('frees a lease whose holder died once it expires', async () => {
    expect(await backend.acquireLease('atomic:short', 30)).toEqual(expect.any(String));
    const client = (backend.store as RedisAtomicStore).client as Redis;
    await new Promise<void>((resolve) => {
      const poll = async () =>
        (await client.exists('atomic:short{atomic:short}lease')) === 0
          ? resolve()
          : setTimeout(poll, 10);
      void poll();
    });
    expect(await backend.acquireLease('atomic:short', 1_000)).toEqual(expect.any(String));
  });

  it('writes with compare-and-set only when nothing invalidated the key meanwhile', async () => {
    const v1 = await backend.readVersion('atomic:k');
    expect(await backend.setIfVersion('atomic:k', entry('first'), 60_000, v1)).toBe(true);
    expect(await cache.get('k')).toBe('first');

    const before = await backend.readVersion('atomic:k');
    await cache.delete('k');
    expect(
      await backend.setIfVersion('atomic:k', entry('computed before the delete'), 60_000, before),
    ).toBe(false);
    expect(await cache.get('k')).toBeUndefined();
  });

  it('refuses a write computed before an invalidation even when the key was absent', async () => {
    const absentDelete = await backend.readVersion('atomic:absent1');
    await cache.delete('absent1');
    expect(await backend.setIfVersion('atomic:absent1', entry('late'), 60_000, absentDelete)).toBe(
      false,
    );

    const beforePattern = await backend.readVersion('atomic:absent2');
    await cache.deletePattern('absent*');
    expect(await backend.setIfVersion('atomic:absent2', entry('late'), 60_000, beforePattern)).toBe(
      false,
    );

    const beforeTag = await backend.readVersion('atomic:absent3');
    await cache.deleteByTag('anything');
    expect(await backend.setIfVersion('atomic:absent3', entry('late'), 60_000, beforeTag)).toBe(
      false,
    );

    const beforeClear = await backend.readVersion('atomic:absent4');
    await cache.clear();
    expect(await backend.setIfVersion('atomic:absent4', entry('late'), 60_000, beforeClear)).toBe(
      false,
    );

    const fresh = await backend.readVersion('atomic:absent4');
    expect(await backend.setIfVersion('atomic:absent4', entry('after'), 60_000, fresh)).toBe(true);
    expect(await cache.get('absent4')).toBe('after');
  });
});
