import type { LoggerService } from '@nestjs/common';
import { CacheError, CacheErrorCode, isOutOfSpace, toCacheError } from '../cache.errors.js';
import { keyRef } from '../keys/key-encoding.js';
import type { CircuitBreaker } from './circuit-breaker.js';

/** Failures that say the store is unwell (as opposed to one bad entry or value). */
const AVAILABILITY_CODES: ReadonlySet<string> = new Set([
  CacheErrorCode.E_BACKEND_TIMEOUT,
  CacheErrorCode.E_BACKEND_ERROR,
]);
/**
 * Replies of a Redis Cluster in transition (a master failed and no replica took over yet, slots
 * moving): every node answers so, at once, for a second or two. They say nothing about the health
 * of the server that answered, so they are counted and logged but do not trip its breaker (which
 * would keep a healthy master out for the breaker's open time after the cluster is back).
 */
const CLUSTER_IN_TRANSITION = /^(CLUSTERDOWN|TRYAGAIN)\b/;
/** A given error code is logged at most once per this many ms per tier, with a count of the rest. */
const LOG_INTERVAL_MS = 60_000;

/**
 * Where a tier's failed call is reported. An outage (a timeout, a connection error, anything that
 * is not a `CacheError` of ours) goes to the circuit breaker, which logs it once when it opens;
 * failures below its threshold are only counted. A full store (a disk or a Redis at maxmemory, which
 * refuses writes but still reads), a cluster in transition and one bad entry or value are logged,
 * at most once per error code per {@link LOG_INTERVAL_MS}, with how many were left out since; by
 * the key's hash, never a value.
 */
export class TierFailures {
  private readonly lastLogged = new Map<string, { at: number; suppressed: number }>();

  constructor(
    /** The tier, as logs name it (`shared tier (redis)`). */
    private readonly label: string,
    private readonly logger: LoggerService,
    /** Epoch ms (the engine's clock). */
    private readonly clock: () => number,
  ) {}

  /** Logs a breaker opening (once, with its cause) or closing, of the tier or of one server. */
  readonly breakerChanged = (
    state: 'open' | 'closed',
    cause: unknown,
    scope: string | undefined,
  ): void => {
    const what = scope === undefined ? this.label : `${this.label} server ${scope}`;
    if (state === 'closed') {
      this.logger.log(`${what} recovered`);
      return;
    }
    const err = toCacheError(cause, CacheErrorCode.E_BACKEND_ERROR, what);
    const rest = scope === undefined ? 'it' : 'its keys';
    this.logger.error(
      `${what} is unavailable [${err.code}] ${err.message}; serving without ${rest} until it recovers`,
    );
  };

  /** Reports `err` (what `cause`, thrown by `op` on `key`, became) to `breaker` or to the log. */
  report(
    err: CacheError,
    cause: unknown,
    op: string,
    key: string | undefined,
    breaker: CircuitBreaker,
  ): void {
    if (isOutOfSpace(cause)) return this.logOnce(err, op, key);
    const transient = cause instanceof Error && CLUSTER_IN_TRANSITION.test(cause.message);
    if (!transient && (AVAILABILITY_CODES.has(err.code) || !(cause instanceof CacheError)))
      return breaker.failure(err);
    this.logOnce(err, op, key);
  }

  private logOnce(err: CacheError, op: string, key: string | undefined): void {
    const now = this.clock();
    const seen = this.lastLogged.get(err.code);
    if (seen !== undefined && now - seen.at < LOG_INTERVAL_MS) {
      seen.suppressed++;
      return;
    }
    const more =
      seen !== undefined && seen.suppressed > 0
        ? ` (${seen.suppressed} more since the last report)`
        : '';
    this.lastLogged.set(err.code, { at: now, suppressed: 0 });
    const where = key === undefined ? '' : ` ${keyRef(key)}`;
    this.logger.warn(`${this.label} ${op}${where} failed [${err.code}] ${err.message}${more}`);
  }
}
