import { CacheErrorCode, toCacheError } from '../cache.errors.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import { startDeadline, timeoutError } from './deadline.js';
import type { LatencyReservoir } from './latency.js';
import type { TierBreakers } from './tier-breakers.js';
import type { TierCounters } from './tier-config.js';
import type { TierFailures } from './tier-failures.js';

/**
 * The rules every call of a tier to its backend runs under: the circuit breaker of the key's
 * server (the tier's own on a single server), the tier's deadline, latency recording, and failures
 * counted, reported and logged (see {@link TierFailures}). Nothing here throws at a caller: a call
 * that fails, times out or is refused by an open breaker settles to its fallback.
 */
export class TierCalls {
  constructor(
    /** The tier, as logs name it (`shared tier (redis)`). */
    private readonly label: string,
    /** The tier's deadline of one call, in ms. */
    private readonly timeoutMs: number,
    /** The tier's breakers (the tier reads them too, on every read and write). */
    private readonly breakers: TierBreakers,
    /** Where failures go: the breaker, or the log. */
    private readonly failures: TierFailures,
    /** The tier's counters: failures are counted in `errors`. */
    private readonly counters: TierCounters,
    /** Told the code of every failure. */
    private readonly reported: (code: string) => void,
  ) {}

  /** `call` under the tier's rules; `force` makes it even while the breaker is open. */
  async run<T>(
    op: string,
    key: string | undefined,
    call: () => T | Promise<T>,
    timeoutMs = this.timeoutMs,
    force = false,
  ): Promise<T | undefined> {
    const breaker = this.breakers.for(key);
    if (!breaker.allow() && !force) return undefined;
    try {
      const result = call();
      if (result instanceof Promise)
        return await this.settle(result, op, key, breaker, undefined, undefined, 0, timeoutMs);
      if (breaker.isOpen) breaker.success();
      return result;
    } catch (err) {
      this.fail(err, op, key, breaker);
      return undefined;
    }
  }

  /**
   * Settles like `promise` made by `op` on `key`, or to `fallback` when it fails or misses its
   * deadline (then `failed` is told whether it timed out). One promise per call: the deadline, the
   * latency, the breaker and the fallback in one place.
   */
  settle<T, F>(
    promise: Promise<T>,
    op: string,
    key: string | undefined,
    /** The breaker chosen when the call was made (a slot map refreshed meanwhile may name another). */
    breaker: CircuitBreaker,
    fallback: F,
    latency?: LatencyReservoir,
    /** `performance.now()` when the call was made (for `latency`). */
    started = 0,
    timeoutMs = this.timeoutMs,
    failed?: (timedOut: boolean) => void,
  ): Promise<T | F> {
    return new Promise<T | F>((resolve) => {
      const deadline = startDeadline(timeoutMs, () => {
        this.fail(timeoutError(`${this.label} ${op}`, timeoutMs), op, key, breaker);
        failed?.(true);
        resolve(fallback);
      });
      promise.then(
        (value) => {
          if (!deadline.finish()) return; // too late: the fallback was returned
          latency?.record(performance.now() - started);
          breaker.success();
          resolve(value);
        },
        (err: unknown) => {
          if (!deadline.finish()) return;
          this.fail(err, op, key, breaker);
          failed?.(false);
          resolve(fallback);
        },
      );
    });
  }

  /** Counts, reports and logs a failure of `op` on `key` (through `breaker`). */
  fail(cause: unknown, op: string, key: string | undefined, breaker: CircuitBreaker): void {
    this.counters.errors++;
    const err = toCacheError(cause, CacheErrorCode.E_BACKEND_ERROR, `${this.label} ${op}`);
    this.reported(err.code);
    this.failures.report(err, cause, op, key, breaker);
  }
}
