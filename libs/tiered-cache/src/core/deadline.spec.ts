import { describe, expect, it } from '@jest/globals';
import { CacheError, CacheErrorCode } from '../cache.errors.js';
import { withDeadline } from './deadline.js';

function later<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms));
}

const never = () => new Promise<never>(() => undefined);

describe('withDeadline', () => {
  it('settles like the promise when it settles in time', async () => {
    await expect(withDeadline(Promise.resolve('v'), 50, 'op')).resolves.toBe('v');
    await expect(withDeadline(Promise.reject(new Error('boom')), 50, 'op')).rejects.toThrow('boom');
  });

  it('rejects with E_BACKEND_TIMEOUT, naming the call, when the promise is late; the late result is dropped', async () => {
    const started = performance.now();
    const err = (await withDeadline(later(200, 'late'), 30, 'redis get').catch(
      (e: unknown) => e,
    )) as CacheError;
    expect(err).toBeInstanceOf(CacheError);
    expect(err.code).toBe(CacheErrorCode.E_BACKEND_TIMEOUT);
    expect(err.message).toContain('redis get did not finish within 30 ms');
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('times out each call of a shared duration on its own, whatever the order calls settle in', async () => {
    const hung = withDeadline(never(), 40, 'first').catch((e: unknown) => (e as CacheError).code);
    const quick = withDeadline(later(5, 'second'), 40, 'second');
    const hungToo = withDeadline(never(), 40, 'third').catch(
      (e: unknown) => (e as CacheError).code,
    );
    expect(await quick).toBe('second');
    expect(await hung).toBe(CacheErrorCode.E_BACKEND_TIMEOUT);
    expect(await hungToo).toBe(CacheErrorCode.E_BACKEND_TIMEOUT);
    // The queue keeps working after it emptied.
    await expect(withDeadline(later(1, 'again'), 40, 'again')).resolves.toBe('again');
    await expect(
      withDeadline(never(), 20, 'again').catch((e: unknown) => (e as CacheError).code),
    ).resolves.toBe(CacheErrorCode.E_BACKEND_TIMEOUT);
  });

  it('keeps many calls in flight (more than the queue compacts at) and answers each', async () => {
    const calls = Array.from({ length: 3_000 }, (_, i) =>
      withDeadline(later(i % 7, i), 500, 'many'),
    );
    const values = await Promise.all(calls);
    expect(values).toEqual(Array.from({ length: 3_000 }, (_, i) => i));
  });
});
