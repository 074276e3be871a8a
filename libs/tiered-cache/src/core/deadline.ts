import { CacheError, CacheErrorCode } from '../cache.errors.js';

/**
 * Settles like `promise`, or rejects with `E_BACKEND_TIMEOUT` after `ms`. The timer is cleared as
 * soon as the promise settles and never keeps the process alive. The late result is dropped
 * (and a late rejection swallowed), so a hung backend can never stall or crash a caller.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new CacheError(CacheErrorCode.E_BACKEND_TIMEOUT, `${what} did not finish within ${ms} ms`));
    }, ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
