import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import type { CacheService } from '../src/cache.service.js';
import type { TieredCache } from '../src/core/tiered-cache.js';
import { RedisServerHarness } from './redis-server.harness.js';
import { createTestCache } from './test-cache.js';

/** Issue 13 keys 1, 5, 6 through CacheService on memory (L1) + a real redis-server (L2). */
describe('keys through CacheService, L1 memory + L2 redis', () => {
  let redis: RedisServerHarness;
  let admin: Redis;
  let engine: TieredCache;
  let cache: CacheService;
  let l2only: CacheService;
  let l2engine: TieredCache;

  beforeAll(async () => {
    redis = await RedisServerHarness.start();
    admin = new Redis(redis.url);
    ({ cache, engine } = await createTestCache({
      namespace: 'ns',
      ttl: 60,
      local: { backend: 'memory', maxEntries: 1000 },
      shared: { backend: 'redis', url: redis.url },
    }));
    ({ cache: l2only, engine: l2engine } = await createTestCache({
      namespace: 'ns',
      ttl: 60,
      shared: { backend: 'redis', url: redis.url },
    }));
  });
  afterAll(async () => {
    await engine.close();
    await l2engine.close();
    admin.disconnect();
    await redis.stop();
  });

  it('1: a long key stays in its namespace and is reached by the pattern that matches it', async () => {
    const key = `search:user42:${'q'.repeat(2000)}`;
    await cache.set(key, 'v');
    const stored = await admin.keys('ns:search:user42:*');
    expect(stored).toHaveLength(1);
    expect(await cache.deletePattern('search:user42:*')).toBeGreaterThanOrEqual(1);
    expect(await cache.get(key)).toBeUndefined();
    expect(await l2only.get(key)).toBeUndefined();
  });

  it('1: a pattern that constrains the tail of a long key still removes it (over-deletes, never misses)', async () => {
    const key = `search:user42:${'q'.repeat(2000)}:page9`;
    await cache.set(key, 'v');
    await cache.deletePattern('search:*:page9');
    expect(await l2only.get(key)).toBeUndefined();
    expect(await cache.get(key)).toBeUndefined();
  });

  it('1: tags still reach long keys', async () => {
    const key = `t:${'z'.repeat(3000)}`;
    await cache.set(key, 'v', { tags: ['long'] });
    expect(await cache.deleteByTag('long')).toBe(1);
    expect(await l2only.get(key)).toBeUndefined();
  });

  it.each(['city:?', 'city:[üö]'])(
    '5: deletePattern(%p) removes city:ü from both tiers',
    async (pattern) => {
      await cache.set('city:ü', 'old');
      await cache.deletePattern(pattern);
      expect(await l2only.get('city:ü')).toBeUndefined();
      expect(await cache.get('city:ü')).toBeUndefined();
    },
  );

  it('6: keys with different lone surrogates do not share an entry in Redis', async () => {
    await cache.set('doc:\ud800', 'a');
    await cache.set('doc:\udfff', 'b');
    expect(await l2only.get('doc:\ud800')).toBe('a');
    expect(await l2only.get('doc:\udfff')).toBe('b');
  });
});
