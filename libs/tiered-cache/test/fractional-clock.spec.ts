import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import type { CacheService } from '../src/cache.service.js';
import type { TieredCache } from '../src/core/tiered-cache.js';
import { closeRedis } from './bus-test-node.js';
import { RedisServerHarness } from './redis-server.harness.js';
import { createTestCache } from './test-cache.js';

/**
 * Issue 13, point 10: a clock that returns fractions of a millisecond (`performance.timeOrigin +
 * performance.now()`, a test's clock) made every Redis write fail, PX taking integers only.
 */
describe('a fractional clock, on a real redis-server', () => {
  let redis: RedisServerHarness;
  let admin: Redis;
  let engine: TieredCache | undefined;
  /**
   * Epoch ms that move on by 0.3 ms at every reading (as `performance.timeOrigin +
   * performance.now()` does, deterministically): the time left between two readings has a fraction.
   */
  let now = Date.now();
  const clock = () => (now += 0.3);

  beforeAll(async () => {
    redis = await RedisServerHarness.start();
    admin = new Redis(redis.url);
  });
  afterAll(async () => {
    await closeRedis(admin);
    await redis?.stop();
  });
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  it.each(['redis', 'redis-atomic'] as const)(
    'writes entries, tags and atomic values to %s',
    async (backend) => {
      let cache: CacheService;
      ({ cache, engine } = await createTestCache({
        namespace: `frac-${backend}`,
        clock,
        shared: { backend, url: redis.url },
      }));
      await cache.set('plain', 1, { ttl: 0.0105 }); // 10.5 ms rounds to 11 at parse
      await cache.set('tagged', 2, { ttl: '1m', tags: ['t'] });
      expect(await cache.getOrSet('computed', () => 3, { ttl: '1m' })).toBe(3);
      if (backend === 'redis-atomic') {
        expect(await cache.getOrSet('cas', () => 4, { atomic: 'at-least-once' })).toBe(4);
        expect(await cache.getOrSet('lease', () => 5, { atomic: 'at-most-once' })).toBe(5);
        expect(await cache.get('cas')).toBe(4);
        expect(await cache.get('lease')).toBe(5);
      }
      expect(await cache.get('tagged')).toBe(2);
      expect(await cache.get('computed')).toBe(3);
      expect(cache.stats().errors).toBe(0);
      const pttl = await admin.pttl(`frac-${backend}:tagged`);
      expect(pttl).toBeGreaterThan(59_000);
      const tagged = `frac-${backend}:t{frac-${backend}:t}tagged`;
      expect(await admin.pttl(tagged)).toBeGreaterThan(59_000);
      expect(await cache.deleteByTag('t')).toBe(1);
    },
  );
});
