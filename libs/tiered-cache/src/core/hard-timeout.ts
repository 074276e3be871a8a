import { OriginTimeoutError } from '../cache.errors.js';
import { keyRef } from '../keys/key-encoding.js';

/**
 * Settles like `promise`, or as `expire` decides once `ms` have passed. Its one timer is cleared as
 * soon as the promise settles, so none outlives it, and it keeps no process alive; what the promise
 * does after the time is up is ignored here (a late rejection included: it is handled, never
 * unhandled). The promise itself keeps running.
 */
export function settleWithin<T, U>(
  promise: Promise<T>,
  ms: number,
  expire: (resolve: (value: U) => void, reject: (err: unknown) => void) => void,
): Promise<T | U> {
  return new Promise<T | U>((resolve, reject) => {
    const timer = setTimeout(() => expire(resolve, reject), ms);
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

/**
 * Settles like `computation`, or rejects with an {@link OriginTimeoutError} once `ms` have passed,
 * calling `abandoned` first (see {@link settleWithin}). Wrapped around a single-flight
 * computation, every caller that joined it is released at once, and the single-flight slot is
 * freed with it.
 */
export function withHardTimeout<T>(
  computation: Promise<T>,
  ms: number,
  key: string,
  abandoned: () => void,
): Promise<T> {
  return settleWithin<T, never>(computation, ms, (_resolve, reject) => {
    abandoned();
    reject(new OriginTimeoutError(ms, keyRef(key)));
  });
}
