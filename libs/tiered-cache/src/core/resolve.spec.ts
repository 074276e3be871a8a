import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createTestCache, deferred, FakeClock } from '../../test/test-cache.js';
import { cacheViewOf, type CacheService } from '../cache.service.js';
import type { CacheView } from './cache-view.js';
import { lookup, StaleEntry } from './lookup.js';
import { originPlan, type Origin } from './origin-plan.js';
import { read, resolve } from './resolve.js';
import type { TieredCache } from './tiered-cache.js';

/** An origin whose context is the value to compute; counts its runs. */
function countingOrigin(view: CacheView): Origin<unknown> & { runs: number } {
  const origin = {
    runs: 0,
    plan: () => originPlan(view.config, undefined, []),
    run: (value: unknown) => {
      origin.runs++;
      return value;
    },
    store: (value: unknown) => value !== undefined,
    tier: () => undefined,
  };
  return origin;
}

describe('the one read path', () => {
  const clock = new FakeClock();
  let cache: CacheService;
  let engine: TieredCache;
  let view: CacheView;

  beforeEach(async () => {
    ({ cache, engine } = await createTestCache({
      namespace: 'rp',
      ttl: 10,
      grace: 5,
      clock: clock.read,
      local: { backend: 'memory-no-serializer' },
      shared: { backend: 'memory' },
    }));
    view = cacheViewOf(cache);
  });
  afterEach(async () => {
    await engine.close();
  });

  it('answers an L1 hit synchronously, with the stored entry itself, counted once', async () => {
    await cache.set('k', { n: 1 });
    const entry = read(view, 'rp:k');
    expect(entry).not.toBeInstanceOf(Promise);
    expect(entry).toBe(engine.local!.backend.get('rp:k'));
    const origin = countingOrigin(view);
    const resolved = resolve(view, 'rp:k', origin, 'unused');
    expect(resolved).toBe(entry);
    expect(origin.runs).toBe(0);
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 0, stale: 0 });
    expect(cache.stats().tiers.local).toMatchObject({ hits: 2, misses: 0 });
    expect(cache.stats().tiers.shared).toMatchObject({ hits: 0, misses: 0 });
  });

  it('judges an entry once: fresh, stale within grace, then gone', async () => {
    await cache.set('k', 'v', { tier: 'local' });
    const at = clock.now;
    expect(lookup(engine, 'rp:k', at + 9_999)).toMatchObject({ value: 'v' });
    const stale = lookup(engine, 'rp:k', at + 10_000);
    expect(stale).toBeInstanceOf(StaleEntry);
    expect((stale as StaleEntry).entry.value).toBe('v');
    expect(lookup(engine, 'rp:k', at + 15_000)).toBeUndefined();
  });

  it('runs the origin on a miss, once for concurrent callers, and stores its value', async () => {
    const origin = countingOrigin(view);
    const gate = deferred<string>();
    let runs = 0;
    const slow: Origin<unknown> = {
      ...origin,
      run: () => {
        runs++;
        return gate.promise;
      },
    };
    const first = resolve(view, 'rp:m', slow, undefined);
    const second = resolve(view, 'rp:m', slow, undefined);
    expect(first).toBeInstanceOf(Promise);
    gate.resolve('computed');
    expect(await first).toEqual({ value: 'computed', status: 'miss' });
    expect(await second).toEqual({ value: 'computed', status: 'miss' });
    expect(runs).toBe(1);
    expect(read(view, 'rp:m')).toMatchObject({ value: 'computed' });
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 2, stale: 0 });
  });

  it('serves a stale entry when the origin fails, counting it as a miss and a stale serve', async () => {
    await cache.set('k', 'old');
    clock.advance(11_000);
    const failing: Origin<unknown> = {
      ...countingOrigin(view),
      run: () => Promise.reject(new Error('down')),
    };
    expect(await resolve(view, 'rp:k', failing, undefined)).toEqual({
      value: 'old',
      status: 'stale',
    });
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 1, stale: 1 });
  });

  it('reports an L2 hit as a hit outcome and backfills L1', async () => {
    await cache.set('k', 'v', { tier: 'shared' });
    const origin = countingOrigin(view);
    const outcome = resolve(view, 'rp:k', origin, undefined);
    // memory L2 answers synchronously too: an L2 hit is still a fresh entry, not a promise
    expect(outcome).toMatchObject({ value: 'v' });
    expect(engine.local!.backend.get('rp:k')).toMatchObject({ value: 'v' });
    expect(origin.runs).toBe(0);
    expect(cache.stats().tiers).toMatchObject({
      local: { hits: 0, misses: 1 },
      shared: { hits: 1, misses: 0 },
    });
  });
});
