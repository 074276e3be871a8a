import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { CacheErrorCode, OriginTimeoutError } from '../src/cache.errors.js';
import type { CacheService } from '../src/cache.service.js';
import type { TieredCache } from '../src/core/tiered-cache.js';
import type { GetOrSetOptions } from '../src/interfaces/cache-service.interface.js';
import { createTestCache, deferred, FakeClock, RecordingLogger } from './test-cache.js';

/**
 * Issue 13, point 17: `hardTimeout` releases every caller of a hung origin, frees its single-flight
 * slot, leaves no timer behind, and never stores a late value across an invalidation. Jest's fake
 * timers drive the timeout; the memory tiers answer synchronously, so no other timer runs.
 */
describe('getOrSet with a hard origin timeout', () => {
  const clock = new FakeClock();
  const logger = new RecordingLogger();
  let cache: CacheService;
  let engine: TieredCache;
  const hard: GetOrSetOptions = { hardTimeout: '1s' };

  beforeEach(async () => {
    jest.useFakeTimers();
    ({ cache, engine } = await createTestCache(
      { namespace: 'hard', clock: clock.read, local: { backend: 'memory' } },
      logger,
    ));
  });
  afterEach(async () => {
    await engine.close();
    jest.useRealTimers();
  });

  /** Settles every promise `promise` is waiting on that can settle now. */
  const settled = <T>(promise: Promise<T>) =>
    promise.then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );

  it('releases the caller and every joined caller with OriginTimeoutError, then starts afresh', async () => {
    const hung = deferred<string>();
    let calls = 0;
    const factory = () => (calls++, hung.promise);
    const callers = Array.from({ length: 10 }, () => settled(cache.getOrSet('k', factory, hard)));
    await jest.advanceTimersByTimeAsync(999);
    expect(engine.singleFlight.size).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    const results = await Promise.all(callers);
    for (const result of results) {
      expect(result.ok).toBe(false);
      const err = (result as { error: unknown }).error;
      expect(err).toBeInstanceOf(OriginTimeoutError);
      expect(err).toMatchObject({ code: CacheErrorCode.E_ORIGIN_TIMEOUT, timeoutMs: 1_000 });
      expect((err as Error).message).toMatch(/^the origin of key#\S+ did not settle within/);
    }
    expect(calls).toBe(1);
    expect(engine.singleFlight.size).toBe(0); // the slot is free
    expect(jest.getTimerCount()).toBe(0);

    // The next caller starts a fresh origin call instead of joining the hung one.
    expect(await cache.getOrSet('k', () => (calls++, 'fresh'), hard)).toBe('fresh');
    expect(calls).toBe(2);
    expect(jest.getTimerCount()).toBe(0); // cleared as soon as the origin settled
  });

  it('leaves no timer once an origin settles in time, or fails in time', async () => {
    const slow = deferred<string>();
    const call = cache.getOrSet('ok', () => slow.promise, hard);
    expect(jest.getTimerCount()).toBe(1);
    slow.resolve('v');
    expect(await call).toBe('v');
    expect(jest.getTimerCount()).toBe(0);
    await expect(
      cache.getOrSet('bad', () => Promise.reject(new Error('db')), hard),
    ).rejects.toThrow('db');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('serves a stale value within grace instead of the error', async () => {
    await cache.set('s', 'old', { ttl: 1, grace: '1h' });
    clock.advance(2_000);
    const call = cache.getOrSet('s', () => new Promise<string>(() => undefined), {
      ...hard,
      grace: '1h',
    });
    await jest.advanceTimersByTimeAsync(1_000);
    expect(await call).toBe('old');
    expect(cache.stats().stale).toBe(1);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('stores what the timed-out origin computes late, unless the key changed meanwhile', async () => {
    for (const [what, change] of [
      ['nothing', async () => undefined],
      ['a delete', () => cache.delete('late')],
      ['a pattern delete', () => cache.deletePattern('la*')],
      ['a tag delete', () => cache.deleteByTag('t')],
      ['a set', () => cache.set('late', 'newer')],
    ] as const) {
      await cache.delete('late');
      const hung = deferred<string>();
      const call = settled(cache.getOrSet('late', () => hung.promise, { ...hard, tags: ['t'] }));
      await jest.advanceTimersByTimeAsync(1_000);
      expect((await call).ok).toBe(false);
      await change();
      hung.resolve('late value');
      await jest.advanceTimersByTimeAsync(0);
      const expected = what === 'nothing' ? 'late value' : what === 'a set' ? 'newer' : undefined;
      expect([what, await cache.get('late')]).toEqual([what, expected]);
    }
    expect(jest.getTimerCount()).toBe(0);
  });

  it('handles a late rejection of the timed-out origin (no unhandled rejection)', async () => {
    const hung = deferred<string>();
    const call = settled(cache.getOrSet('r', () => hung.promise, hard));
    await jest.advanceTimersByTimeAsync(1_000);
    expect((await call).ok).toBe(false);
    hung.reject(new Error('late failure'));
    await jest.advanceTimersByTimeAsync(0);
    expect(await cache.get('r')).toBeUndefined();
  });

  it('bounds each load of a warm-up: a hung one counts as failed and stores nothing', async () => {
    const hung = deferred<string>();
    const warming = cache.warm(
      [
        { key: 'w1', load: () => 'one' },
        { key: 'w2', load: () => hung.promise },
        { key: 'w3', load: async () => 'three' },
      ],
      { hardTimeout: '1s', concurrency: 2 },
    );
    await jest.advanceTimersByTimeAsync(1_000);
    expect(await warming).toMatchObject({ loaded: 2, failed: 1 });
    expect(logger.matching('warn', 'E_ORIGIN_TIMEOUT')).toHaveLength(1);
    hung.resolve('late');
    await jest.advanceTimersByTimeAsync(0);
    expect(await cache.mget(['w1', 'w2', 'w3'])).toEqual(['one', undefined, 'three']);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('refuses a hardTimeout that is zero, unparsable or longer than a timer can wait', async () => {
    for (const hardTimeout of [0, 'soon', '25d'] as GetOrSetOptions['hardTimeout'][]) {
      await expect(cache.getOrSet('x', () => 1, { hardTimeout })).rejects.toMatchObject({
        code: CacheErrorCode.E_INVALID_DURATION,
        message: expect.stringContaining('"hardTimeout"'),
      });
    }
  });
});
