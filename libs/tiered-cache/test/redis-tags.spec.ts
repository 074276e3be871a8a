import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import type { CacheService } from '../src/cache.service.js';
import type { TieredCache } from '../src/core/tiered-cache.js';
import { tagSet, tagSets } from './redis-inspect.js';
import { RedisServerHarness } from './redis-server.harness.js';
import { createTestCache } from './test-cache.js';
import { waitFor } from './wait-for.js';

/**
 * Issue 12, point 2: a tag set holds the live writes carrying its tag, no more (a key deleted or
 * overwritten without the tag leaves it, an expired one is pruned), and lives exactly as long as
 * its longest-lived member. The sets are found by type (see redis-inspect.ts), whatever their name.
 */
describe('Redis tag sets stay bounded', () => {
  let redis: RedisServerHarness;
  let admin: Redis;
  let engine: TieredCache | undefined;

  async function open(backend: 'redis' | 'redis-atomic' = 'redis'): Promise<CacheService> {
    let cache: CacheService;
    ({ cache, engine } = await createTestCache({
      namespace: 'tags',
      shared: { backend, url: redis.url, timeout: '2s' },
    }));
    return cache;
  }

  beforeAll(async () => {
    redis = await RedisServerHarness.start();
    admin = new Redis(redis.url, { lazyConnect: true });
    await admin.connect();
  });
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
    await admin.flushall();
  });
  afterAll(async () => {
    admin.disconnect();
    await redis.stop();
  });

  it('forgets a key in its tag sets when it is deleted or overwritten without the tag', async () => {
    const cache = await open();
    await cache.set('a', 1, { tags: ['t', 'u'] });
    await cache.set('b', 2, { tags: ['t'] });
    await cache.set('a', 1.5, { tags: ['u'] }); // no longer t
    expect((await tagSet(admin, 'tags:t')).members).toBe(1);
    expect((await tagSet(admin, 'tags:u')).members).toBe(1);
    await cache.delete('b');
    await cache.set('a', 'untagged'); // no longer u
    expect(await tagSets(admin)).toEqual([]);
    expect(await cache.deleteByTag('t', 'u')).toBe(0);
    expect(await cache.get('a')).toBe('untagged');
  });

  it('lives as long as its longest-lived member, never longer, never shorter', async () => {
    const cache = await open();
    await cache.set('long', 1, { tags: ['t'], ttl: '100s' });
    await cache.set('short', 2, { tags: ['t'], ttl: '10s' });
    expect((await tagSet(admin, 'tags:t')).pttl).toBeGreaterThan(90_000);
    expect((await tagSet(admin, 'tags:t')).pttl).toBeLessThanOrEqual(100_000);
    await cache.delete('long');
    expect((await tagSet(admin, 'tags:t')).pttl).toBeLessThanOrEqual(10_000);
    await cache.set('short', 3, { tags: ['t'], ttl: '200s' });
    expect((await tagSet(admin, 'tags:t')).pttl).toBeGreaterThan(190_000);
    await cache.set('other', 4, { tags: ['t'], ttl: '5s' });
    expect((await tagSet(admin, 'tags:t')).pttl).toBeGreaterThan(190_000);
    // The set expires with the entry itself.
    const set = (await tagSet(admin, 'tags:t')).key;
    expect(await admin.pexpiretime(set)).toBe(await admin.pexpiretime('tags:short'));
  });

  for (const backend of ['redis', 'redis-atomic'] as const) {
    it(`holds only live writes under churn: deletes, overwrites, expiry (${backend})`, async () => {
      const cache = await open(backend);
      const atomic = backend === 'redis-atomic';
      const liveTagged = new Set<string>();
      const ROUNDS = 4;
      const PER_ROUND = 50;
      for (let round = 0; round < ROUNDS; round++) {
        // 50 keys a round, tagged; 10 of them deleted, 10 overwritten untagged. They expire
        // within 200 ms but for the last round's (which the assertions count).
        const last = round === ROUNDS - 1;
        for (let i = 0; i < PER_ROUND; i++) {
          const key = `job:${round}:${i}`;
          const options = { tags: ['all', `group:${i % 5}`], ttl: last ? '1h' : '200ms' } as const;
          if (atomic) await cache.getOrSet(key, () => i, { ...options, atomic: 'at-least-once' });
          else await cache.set(key, i, options);
        }
        for (let i = 0; i < 10; i++) await cache.delete(`job:${round}:${i}`);
        for (let i = 10; i < 20; i++) await cache.set(`job:${round}:${i}`, 'untagged');
        // 50 long-lived keys, tagged on even rounds only.
        for (let i = 0; i < PER_ROUND; i++) {
          const key = `keep:${i}`;
          if (round % 2 === 0) {
            await cache.set(key, round, { tags: ['all', 'keep'] });
            liveTagged.add(key);
          } else {
            await cache.set(key, round);
            liveTagged.delete(key);
          }
        }
        if (last) break;
        // Wait for this round's short-lived keys to expire (Redis's clock) before the next one.
        await waitFor(
          async () => (await admin.exists(`tags:job:${round}:49`)) === 0,
          `round ${round} expired`,
        );
      }
      for (let i = 20; i < PER_ROUND; i++) liveTagged.add(`job:${ROUNDS - 1}:${i}`);
      // Long-lived keys are untagged after the last (odd) round; the last round's 30 tagged jobs live.
      const all = await tagSet(admin, 'tags:all');
      expect(all.members).toBe(liveTagged.size);
      expect(liveTagged.size).toBe(30);
      const sets = await tagSets(admin);
      const members = sets
        .filter((set) => !set.key.includes('inflight'))
        .reduce((sum, set) => sum + set.members, 0);
      expect(members).toBe(30 * 2); // each live job is in `all` and in its group
      expect(await cache.deleteByTag('all')).toBe(30);
      expect((await tagSets(admin)).filter((set) => !set.key.includes('inflight')).length).toBe(0);
    });
  }
});
