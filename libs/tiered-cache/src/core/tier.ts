import type { LoggerService } from '@nestjs/common';
import {
  CacheError,
  CacheErrorCode,
  describeError,
  isOutOfSpace,
  toCacheError,
} from '../cache.errors.js';
import type { CacheBackend, CacheEntry } from '../interfaces/cache-backend.interface.js';
import { keyRef } from '../keys/key-encoding.js';
import { capEntry } from '../serialization/entry-codec.js';
import { CircuitBreaker, type BreakerSettings } from './circuit-breaker.js';
import { startDeadline, timeoutError, withDeadline } from './deadline.js';
import { FailedWrites } from './failed-writes.js';
import { LatencyReservoir } from './latency.js';
import { MissedReplay } from './missed-replay.js';
import type { InvalidationEvent } from './invalidation.js';

/** Which tier: L1 in the process, or L2 shared between processes. */
export type TierRole = 'local' | 'shared';

/** The resolved settings of one tier. */
export interface TierConfig {
  readonly role: TierRole;
  readonly backend: CacheBackend;
  /** Longest time an entry lives in this tier, in ms; undefined for no cap. */
  readonly maxTtlMs: number | undefined;
  /** Deadline of one asynchronous call, in ms. */
  readonly timeoutMs: number;
  /** Whether this tier being down fails a health check (else it is reported degraded). */
  readonly required: boolean;
  /** Prefix of every key of the engine (`<namespace>:`): cleared when too many invalidations were missed. */
  readonly prefix: string;
  /** When the circuit breaker opens and for how long. */
  readonly breaker: BreakerSettings;
}

/** Counters of one tier (hits and misses are counted by the engine, errors here). */
export interface TierCounters {
  hits: number;
  misses: number;
  errors: number;
}

/** Failures that say the store is unwell (as opposed to one bad entry or value). */
const AVAILABILITY_CODES: ReadonlySet<string> = new Set([
  CacheErrorCode.E_BACKEND_TIMEOUT,
  CacheErrorCode.E_BACKEND_ERROR,
]);
/** A given error code is logged at most once per this many ms per tier, with a count of the rest. */
const LOG_INTERVAL_MS = 60_000;
/** Overall deadline of a bulk operation (pattern, tag and prefix deletes), in ms. */
const BULK_TIMEOUT_MS = 60_000;
/** A synchronous backend's read latency is recorded for one read in this many. */
const SYNC_SAMPLE_EVERY = 32;

/**
 * One tier around its backend: every asynchronous call runs under the tier's deadline, failures
 * are counted, logged once (not per call) and turned into a miss or a skipped write, and a circuit
 * breaker stops calling a store that keeps failing. Nothing here ever throws at a caller.
 */
export class Tier {
  readonly counters: TierCounters = { hits: 0, misses: 0, errors: 0 };
  /** Durations of recent reads and writes, in ms. */
  readonly latency = { get: new LatencyReservoir(), set: new LatencyReservoir() };
  readonly backend: CacheBackend;
  /** Told about every failure (the engine turns it into an `error` event). */
  onError: ((code: string) => void) | undefined;
  /**
   * Told about each missed invalidation once it has been replayed on this tier (the engine
   * publishes it, so that other instances drop those entries from their L1 too). Keys recorded
   * one by one may be replayed, and reported, in batches.
   */
  onReplayed: ((invalidation: InvalidationEvent) => void) | undefined;
  private readonly breaker: CircuitBreaker;
  private readonly lastLogged = new Map<string, { at: number; suppressed: number }>();
  private readonly label: string;
  /** Whether the backend answers synchronously (an in-process store). */
  private readonly synchronous: boolean;
  /** Reads of a synchronous backend, for latency sampling. */
  private reads = 0;
  /** Deadline of a bulk operation as a whole. */
  private readonly bulkTimeoutMs: number;
  /** Invalidations this tier could not apply, and their replay; it serves no read until they are replayed. */
  private readonly missed: MissedReplay;
  /** The writes this tier could not make, followed up by deletes: their keys are a miss until done. */
  private readonly failedWrites: FailedWrites;

  constructor(
    readonly config: TierConfig,
    private readonly logger: LoggerService,
    private readonly clock: () => number,
  ) {
    this.backend = config.backend;
    this.synchronous = config.backend.synchronous === true;
    this.bulkTimeoutMs = Math.max(BULK_TIMEOUT_MS, config.timeoutMs);
    this.label = `${config.role} tier (${config.backend.name})`;
    this.missed = new MissedReplay({
      prefix: config.prefix,
      maxDelayMs: config.breaker.openMs,
      apply: async (invalidation) => (await this.apply(invalidation)) !== undefined,
      replayed: (invalidation) => this.announce(invalidation),
      emptied: (count) =>
        this.logger.log(
          `${this.label}: replayed ${count} invalidation(s) missed while it was unavailable`,
        ),
      overflowed: () =>
        this.logger.warn(
          `${this.label}: more invalidations were missed than it remembers; it will clear its namespace once reachable`,
        ),
    });
    this.failedWrites = new FailedWrites({
      remove: async (key) =>
        (await this.run('delete', key, () => this.backend.delete([key]), undefined, true)) !==
        undefined,
      missed: (key) => this.missed.add({ kind: 'keys', keys: [key] }),
    });
    this.breaker = new CircuitBreaker({ ...config.breaker, clock }, (state, cause) => {
      if (state === 'open') {
        const err = toCacheError(cause, CacheErrorCode.E_BACKEND_ERROR, this.label);
        this.logger.error(
          `${this.label} is unavailable [${err.code}] ${err.message}; serving without it until it recovers`,
        );
      } else {
        this.logger.log(`${this.label} recovered`);
      }
    });
  }

  /** True while the circuit breaker keeps this tier out of the way. */
  get unavailable(): boolean {
    return this.breaker.isOpen;
  }

  /**
   * Reads an entry; undefined on a miss or any failure. Synchronous for synchronous backends, whose
   * latency is sampled (one read in {@link SYNC_SAMPLE_EVERY}, the first included): reading the clock
   * twice would cost more than an in-process read itself.
   */
  get(key: string): CacheEntry | undefined | Promise<CacheEntry | undefined> {
    if (this.missed.pending) {
      // It may still hold entries that were invalidated while it was unreachable: a miss until replayed.
      this.missed.now();
      return undefined;
    }
    if (this.failedWrites.has(key)) return undefined;
    if (!this.breaker.allow()) return undefined;
    const timed = !this.synchronous || this.reads++ % SYNC_SAMPLE_EVERY === 0;
    const started = timed ? performance.now() : 0;
    let result: CacheEntry | undefined | Promise<CacheEntry | undefined>;
    try {
      result = this.backend.get(key);
    } catch (err) {
      this.fail(err, 'get', key);
      return undefined;
    }
    if (!(result instanceof Promise)) {
      if (timed) this.latency.get.record(performance.now() - started);
      if (this.breaker.isOpen) this.breaker.success();
      return result;
    }
    return this.settle(result, 'get', key, undefined, this.latency.get, started);
  }

  /**
   * Writes an entry (capped to this tier's TTL); failures are counted and logged, never thrown.
   * A write that fails, times out or is skipped by the open breaker makes this tier forget the key
   * (see {@link FailedWrites}; a skipped one is a missed invalidation): its previous value must not
   * be served again.
   */
  set(key: string, entry: CacheEntry, ttlMs: number): void | Promise<void> {
    if (!this.breaker.allow()) {
      this.missed.add({ kind: 'keys', keys: [key] });
      return;
    }
    const cap = this.config.maxTtlMs;
    const started = performance.now();
    let result: void | Promise<void>;
    try {
      result =
        cap !== undefined && cap < ttlMs
          ? this.backend.set(key, capEntry(entry, this.clock() + cap), cap)
          : this.backend.set(key, entry, ttlMs);
    } catch (err) {
      this.fail(err, 'set', key);
      this.failedWrites.forget(key, undefined);
      return;
    }
    if (result instanceof Promise) {
      const written = result;
      return this.settle(
        written,
        'set',
        key,
        undefined,
        this.latency.set,
        started,
        undefined,
        (late) => this.failedWrites.forget(key, late ? written : undefined),
      );
    }
    this.latency.set.record(performance.now() - started);
    if (this.breaker.isOpen) this.breaker.success();
  }

  /** Deletes keys; resolves to how many existed, or undefined when the tier failed (then it is replayed later). */
  delete(keys: readonly string[]): Promise<number | undefined> {
    return this.invalidate({ kind: 'keys', keys });
  }

  /**
   * Deletes keys matching a glob; undefined when the tier failed. A bulk operation: it may walk
   * millions of keys, so it runs under {@link BULK_TIMEOUT_MS} as a whole (built-in backends put
   * each of its commands under the tier's deadline).
   */
  deletePattern(glob: string): Promise<number | undefined> {
    return this.invalidate({ kind: 'pattern', glob });
  }

  /** Deletes keys carrying any of the tags; undefined when the tier failed. A bulk operation. */
  deleteByTags(tags: readonly string[]): Promise<number | undefined> {
    return this.invalidate({ kind: 'tags', tags });
  }

  /** Clears a prefix; resolves to false when the tier failed. A bulk operation. */
  async clear(prefix: string): Promise<boolean> {
    return (await this.invalidate({ kind: 'clear', prefix })) !== undefined;
  }

  /** True while invalidations this tier missed wait to be replayed (it serves no read meanwhile). */
  get hasMissed(): boolean {
    return this.missed.pending;
  }

  /** Resolves once no replay of missed invalidations is running (for tests and orderly shutdown). */
  async replayed(): Promise<void> {
    await this.missed.idle();
  }

  /**
   * Resolves once nothing runs in the background: no replay, and no follow-up of a failed write
   * (including the wait for a write that missed its deadline to land or fail).
   */
  async idle(): Promise<void> {
    await this.failedWrites.idle();
    await this.missed.idle();
  }

  /** Applies an invalidation; one that fails is remembered and replayed before this tier serves reads again. */
  async invalidate(invalidation: InvalidationEvent): Promise<number | undefined> {
    const removed = await this.apply(invalidation);
    if (removed === undefined) this.missed.add(invalidation);
    return removed;
  }

  /** Runs an invalidation against the backend: how many keys it removed (0 for a clear), or undefined on failure. */
  private apply(invalidation: InvalidationEvent): Promise<number | undefined> {
    switch (invalidation.kind) {
      case 'keys':
        return this.run('delete', undefined, () => this.backend.delete(invalidation.keys));
      case 'pattern':
        return this.run(
          'deletePattern',
          undefined,
          () => this.backend.deletePattern(invalidation.glob),
          this.bulkTimeoutMs,
        );
      case 'tags':
        return this.run(
          'deleteByTags',
          undefined,
          () => this.backend.deleteByTags(invalidation.tags),
          this.bulkTimeoutMs,
        );
      case 'clear':
        return this.run(
          'clear',
          undefined,
          async () => (await this.backend.clear(invalidation.prefix), 0),
          this.bulkTimeoutMs,
        );
    }
  }

  /** Tells `onReplayed` about a replayed invalidation; a listener that throws is logged. */
  private announce(invalidation: InvalidationEvent): void {
    try {
      this.onReplayed?.(invalidation);
    } catch (err) {
      this.logger.warn(`${this.label}: the replay listener threw (${describeError(err)})`);
    }
  }

  /** A real round trip under the deadline, bypassing the breaker (for health checks). Rejects on failure. */
  ping(timeoutMs = this.config.timeoutMs): Promise<number> {
    return withDeadline(this.backend.ping(), timeoutMs, `${this.label} ping`);
  }

  /**
   * Stops replaying missed invalidations, closes the backend, then waits for what was still running
   * against it (a replay step, the follow-up of a failed write): closing the backend makes those
   * fail fast. Each wait is bounded (the larger of the tier's deadline and 2 s); errors are logged.
   */
  async close(): Promise<void> {
    this.missed.stop();
    this.failedWrites.close();
    await this.closeStep('close', () => this.backend.close());
    // A step on a client the cache does not own (not closed) may take a bulk operation's time.
    await this.closeStep('background work', () => this.idle());
  }

  private async closeStep(what: string, step: () => Promise<void>): Promise<void> {
    const boundMs = Math.max(this.config.timeoutMs, 2_000);
    try {
      await withDeadline(step(), boundMs, `${this.label} ${what}`);
    } catch (err) {
      this.logger.warn(`${this.label} did not close cleanly (${describeError(err)})`);
    }
  }

  /**
   * Runs any call against this tier's backend under the same rules (breaker, deadline, counting,
   * logging); resolves to undefined when the tier is unavailable or the call failed.
   */
  attempt<T>(
    op: string,
    key: string | undefined,
    call: (backend: CacheBackend) => T | Promise<T>,
  ): Promise<T | undefined> {
    return this.run(op, key, () => call(this.backend));
  }

  /** `call` under the tier's rules; `force` makes it even while the breaker is open. */
  private async run<T>(
    op: string,
    key: string | undefined,
    call: () => T | Promise<T>,
    timeoutMs = this.config.timeoutMs,
    force = false,
  ): Promise<T | undefined> {
    if (!this.breaker.allow() && !force) return undefined;
    try {
      const result = call();
      if (result instanceof Promise)
        return await this.settle(result, op, key, undefined, undefined, 0, timeoutMs);
      if (this.breaker.isOpen) this.breaker.success();
      return result;
    } catch (err) {
      this.fail(err, op, key);
      return undefined;
    }
  }

  private settle<T, F>(
    promise: Promise<T>,
    op: string,
    key: string | undefined,
    fallback: F,
    latency?: LatencyReservoir,
    started = 0,
    timeoutMs = this.config.timeoutMs,
    failed?: (timedOut: boolean) => void,
  ): Promise<T | F> {
    // One promise per call: the deadline, the latency, the breaker and the fallback in one place.
    return new Promise<T | F>((resolve) => {
      const deadline = startDeadline(timeoutMs, () => {
        this.fail(timeoutError(`${this.label} ${op}`, timeoutMs), op, key);
        failed?.(true);
        resolve(fallback);
      });
      promise.then(
        (value) => {
          if (!deadline.finish()) return; // too late: the fallback was returned
          latency?.record(performance.now() - started);
          this.breaker.success();
          resolve(value);
        },
        (err: unknown) => {
          if (!deadline.finish()) return;
          this.fail(err, op, key);
          failed?.(false);
          resolve(fallback);
        },
      );
    });
  }

  private fail(cause: unknown, op: string, key: string | undefined): void {
    this.counters.errors++;
    const err = toCacheError(cause, CacheErrorCode.E_BACKEND_ERROR, `${this.label} ${op}`);
    this.onError?.(err.code);
    // A full disk or a Redis at maxmemory refuses writes but still reads: not an outage.
    if (isOutOfSpace(cause)) {
      this.logOnce(err, op, key);
      return;
    }
    if (AVAILABILITY_CODES.has(err.code) || !(cause instanceof CacheError)) {
      // An outage is logged once, by the breaker when it opens; failures below its threshold are only counted.
      this.breaker.failure(err);
      return;
    }
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
