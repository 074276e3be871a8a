import { OriginTimeoutError } from '../cache.errors.js';
import { keyRef } from '../keys/key-encoding.js';

/**
 * Settles like `computation`, or rejects with an {@link OriginTimeoutError} once `ms` have passed,
 * calling `abandoned` first. Its one timer is cleared as soon as the computation settles, so none
 * outlives it; a computation that settles after the timeout is ignored here (a late rejection
 * included: it is handled, never unhandled). Wrapped around a single-flight computation, every
 * caller that joined it is released at once, and the single-flight slot is freed with it.
 */
export function withHardTimeout<T>(
  computation: Promise<T>,
  ms: number,
  key: string,
  abandoned: () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      abandoned();
      reject(new OriginTimeoutError(ms, keyRef(key)));
    }, ms);
    timer.unref();
    computation.then(
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
