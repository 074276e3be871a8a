import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { cacheViewOf, type CacheService } from '../src/cache.service.js';
import type { TieredCache } from '../src/core/tiered-cache.js';
import type { CacheEntry } from '../src/interfaces/cache-backend.interface.js';
import type { WarmEntry } from '../src/interfaces/cache-service.interface.js';
import { createTestCache, deferred, FakeClock, RecordingLogger } from './test-cache.js';

/** Two in-process tiers (any backend may be either tier), so the tier logic is seen without a network. */
describe('two tiers', () => {
  const clock = new FakeClock();
  const logger = new RecordingLogger();
  let cache: CacheService;
  let engine: TieredCache;
  let view: (namespace: string) => CacheService;

  beforeEach(async () => {
    logger.lines.length = 0;
    ({ cache, engine, view } = await createTestCache(
      {
        namespace: 'tiers',
        ttl: 60,
        clock: clock.read,
        local: { backend: 'memory', ttl: '10s' },
        shared: { backend: 'memory', maxEntries: 100 },
      },
      logger,
    ));
  });
  afterEach(async () => {
    await engine.close();
  });

  // Both tiers are in-process memory backends here, which answer synchronously.
  const inShared = (key: string) =>
    engine.shared!.backend.get(`tiers:${key}`) as CacheEntry | undefined;
  const inLocal = (key: string) =>
    engine.local!.backend.get(`tiers:${key}`) as CacheEntry | undefined;

  it('fills L1 from an L2 hit, capped by the local TTL', async () => {
    await cache.set('k', 'v', { tier: 'shared' });
    expect(inLocal('k')).toBeUndefined();
    expect(await cache.get('k')).toBe('v');
    expect(cache.stats().tiers).toMatchObject({
      local: { hits: 0, misses: 1 },
      shared: { hits: 1, misses: 0 },
    });
    expect(await cache.get('k')).toBe('v');
    expect(cache.stats().tiers).toMatchObject({
      local: { hits: 1, misses: 1 },
      shared: { hits: 1 },
    });
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 0, hitRate: 1 });
    clock.advance(11_000);
    expect(inLocal('k')).toBeDefined(); // still held by lru-cache on real time, but past the 10 s cap:
    expect(await cache.get('k')).toBe('v');
    expect(cache.stats().tiers).toMatchObject({
      local: { hits: 1, misses: 2 },
      shared: { hits: 2 },
    });
  });

  it('writes and deletes both tiers, or only the selected one', async () => {
    await cache.set('both', 1);
    await cache.set('local-only', 2, { tier: 'local' });
    expect(inLocal('both')?.value).toBe(1);
    expect(inShared('both')).toBeDefined();
    expect(inShared('local-only')).toBeUndefined();
    await cache.delete('both');
    expect(inLocal('both')).toBeUndefined();
    expect(inShared('both')).toBeUndefined();
  });

  it('prefers a fresh L2 entry over a stale L1 one', async () => {
    await cache.set('k', 'old', { ttl: 5, grace: '1h', tier: 'local' });
    clock.advance(6_000);
    await cache.set('k', 'new', { tier: 'shared' });
    expect(await cache.get('k')).toBe('new');
    expect(inLocal('k')?.value).toBe('new');
  });

  it('counts and logs a value that cannot be serialized per tier, not per call, and still returns it', async () => {
    const value = { id: 1, callback: () => 'not data' };
    expect(await cache.getOrSet('fn', () => value)).toBe(value);
    expect(await cache.has('fn')).toBe(false);
    expect(cache.stats().errors).toBe(2);
    await cache.set('fn2', value);
    expect(logger.matching('warn', 'E_UNSERIALIZABLE')).toHaveLength(2); // once per tier, not per call
  });

  it('serves the stale value when the origin is slower than timeout, and refreshes in the background', async () => {
    await cache.set('slow', 'stale', { ttl: 1, grace: '1m' });
    clock.advance(2_000);
    const origin = deferred<string>();
    const started: string[] = [];
    const value = await cache.getOrSet('slow', () => (started.push('run'), origin.promise), {
      ttl: 60,
      grace: '1m',
      timeout: '20ms',
    });
    expect(value).toBe('stale');
    expect(cache.stats().stale).toBe(1);
    expect(
      await cache.getOrSet('slow', () => (started.push('run'), origin.promise), {
        timeout: '20ms',
        grace: '1m',
      }),
    ).toBe('stale');
    expect(started).toHaveLength(1);
    origin.resolve('fresh');
    await origin.promise;
    await new Promise((resolve) => setImmediate(resolve));
    expect(await cache.get('slow')).toBe('fresh');
  });

  it('warms entries with bounded concurrency, counting failures, from sync and async iterables', async () => {
    let running = 0;
    let peak = 0;
    const entry = (i: number): WarmEntry => ({
      key: `p:${i}`,
      load: async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setImmediate(resolve));
        running--;
        if (i % 10 === 0) throw new Error(`product ${i} is gone`);
        return { id: i };
      },
      tags: ['products'],
    });
    const report = await cache.warm(
      Array.from({ length: 50 }, (_, i) => entry(i)),
      { concurrency: 4 },
    );
    expect(report).toMatchObject({ loaded: 45, failed: 5 });
    expect(report.durationMs).toBeGreaterThanOrEqual(0);
    expect(peak).toBe(4);
    expect(await cache.get('p:7')).toEqual({ id: 7 });
    expect(await cache.get('p:10')).toBeUndefined();
    expect(logger.matching('log', /warm-up of tiers: \d+\/50 done/).length).toBeGreaterThanOrEqual(
      9,
    );
    // The first failure is logged by its key's hash and its error's class, never its message.
    expect(logger.matching('warn', /a load failed \(key#\S+: Error\)/)).toHaveLength(1);
    expect(logger.matching('warn', 'product')).toHaveLength(0);
    expect(logger.matching('log', '45 loaded, 5 failed')).toHaveLength(1);

    async function* more() {
      for (let i = 100; i < 103; i++) yield entry(i);
    }
    expect(await cache.warm(more(), { ttl: '5s' })).toMatchObject({ loaded: 2, failed: 1 });
    expect(await cache.ttl('p:101')).toBeCloseTo(5, 3);
    expect(await cache.deleteByTag('products')).toBe(47);
    await expect(cache.warm([], { concurrency: 0 })).rejects.toThrow(/"concurrency"/);
  });

  it('rejects unusable keys and tags with a clear error', async () => {
    await expect(cache.get('')).rejects.toThrow(/non-empty string/);
    await expect(cache.set('k', 1, { tags: [''] })).rejects.toThrow(
      /tag must be a non-empty string/,
    );
    await expect(cache.deletePattern('')).rejects.toThrow(/non-empty pattern/);
    await expect(cache.set('k', 1, { ttl: -1 })).rejects.toThrow(/"ttl"/);
  });

  it('emits typed events only to listeners, and counts each cache apart', async () => {
    const seen: string[] = [];
    const off = cache.on('hit', (e) => seen.push(`hit ${e.cache} ${e.key}`));
    cache.on('miss', (e) => seen.push(`miss ${e.cache} ${e.key}`));
    cache.on('set', (e) => seen.push(`set ${e.key}`));
    cache.on('delete', (e) =>
      seen.push(`delete ${JSON.stringify(e.keys ?? e.pattern ?? e.tags ?? e.prefix)}`),
    );
    cache.on('stale', (e) => seen.push(`stale ${e.key}`));
    cache.on('hit', () => {
      throw new Error('a listener that throws is isolated');
    });
    await cache.get('a');
    await cache.set('a', 1, { ttl: 1, grace: 60 });
    await cache.get('a');
    off();
    await cache.get('a');
    clock.advance(2_000);
    await cache.getOrSet('a', () => Promise.reject(new Error('down')), { grace: 60 });
    await cache.delete('a');
    await cache.deletePattern('x*');
    expect(seen).toEqual([
      'miss default tiers:a',
      'set tiers:a',
      'hit default tiers:a',
      'miss default tiers:a',
      'stale tiers:a',
      'delete ["tiers:a"]',
      'delete "tiers:x*"',
    ]);

    const named = view('tiers:named');
    await named.get('n');
    expect(named.stats()).toMatchObject({ hits: 0, misses: 1, stale: 0 });
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 2, stale: 1 });
    expect(named.stats().tiers).toEqual(cache.stats().tiers);
    expect(cache.stats().tiers.local!.latencyMs!.get!.samples).toBeGreaterThan(0);
  });

  it('stores a very long key under its readable head and a hash, in its namespace', async () => {
    const key = 'k'.repeat(5_000);
    await cache.set(key, 'long');
    expect(await cache.get(key)).toBe('long');
    expect(cacheViewOf(cache).fullKey(key)).toMatch(/^tiers:k{1023}#[\w-]{43}$/);
    expect(await cache.deletePattern('k*')).toBe(1);
    expect(await cache.get(key)).toBeUndefined();
  });
});
