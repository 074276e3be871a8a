import type { LoggerService } from '@nestjs/common';
import { describeError } from '../cache.errors.js';
import type { CacheBackend, CacheEntry } from '../interfaces/cache-backend.interface.js';
import { capEntry } from '../serialization/entry-codec.js';
import { withDeadline } from './deadline.js';
import { FailedWrites } from './failed-writes.js';
import { LatencyReservoir } from './latency.js';
import { MissedReplay } from './missed-replay.js';
import type { InvalidationEvent } from './invalidation.js';
import { RecentChanges } from './recent-changes.js';
import { storeTopologyOf } from './store-topology.js';
import { TierBreakers } from './tier-breakers.js';
import { TierCalls } from './tier-calls.js';
import type { TierConfig, TierCounters } from './tier-config.js';
import { TierFailures } from './tier-failures.js';

/** Overall deadline of a bulk operation (pattern, tag and prefix deletes), in ms. */
const BULK_TIMEOUT_MS = 60_000;
/** A synchronous backend's read latency is recorded for one read in this many. */
const SYNC_SAMPLE_EVERY = 32;

/**
 * One tier around its backend: every call runs under the tier's rules (see {@link TierCalls}: a
 * deadline, failures counted and logged once, not per call, and turned into a miss or a skipped
 * write, a circuit breaker per server), and what the tier could not do is followed up: missed
 * invalidations are replayed before it serves reads again, and a failed write makes it forget
 * the key. Nothing here ever throws at a caller.
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
  /**
   * Told about each invalidation this tier missed (it failed, or a write it could not make), as it
   * is recorded for replay: the engine tells the other instances, whose own reads of this shared
   * store must wait for it to be replayed too (see {@link recordMissed}).
   */
  onMissed: ((invalidation: InvalidationEvent) => void) | undefined;
  /** Stops listening to the backend's topology changes. */
  private readonly stopWatching: (() => void) | undefined;
  /** What this tier changed in its store lately, replayed if the store turns out to be another server. */
  private readonly recent: RecentChanges | undefined;
  private readonly breakers: TierBreakers;
  private readonly calls: TierCalls;
  private readonly label: string;
  /** Whether the backend answers synchronously (an in-process store). */
  private readonly synchronous: boolean;
  /** Whether the backend keeps entries with tags (it can delete by tag). */
  private readonly tagged: boolean;
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
    this.tagged = typeof config.backend.deleteByTags === 'function';
    this.bulkTimeoutMs = Math.max(BULK_TIMEOUT_MS, config.timeoutMs);
    this.label = `${config.role} tier (${config.backend.name})`;
    if (!this.tagged)
      logger.warn(
        `${this.label}: its backend has no deleteByTags, so entries written with tags are not kept in this tier`,
      );
    const topology = storeTopologyOf(config.backend);
    const failures = new TierFailures(this.label, logger, clock);
    this.breakers = new TierBreakers(
      { ...config.breaker, clock },
      failures.breakerChanged,
      topology.scopeOf,
    );
    this.calls = new TierCalls(
      this.label,
      config.timeoutMs,
      this.breakers,
      failures,
      this.counters,
      (code) => this.onError?.(code),
    );
    this.missed = new MissedReplay({
      prefix: config.prefix,
      maxDelayMs: config.breaker.openMs,
      apply: async (invalidation) => (await this.apply(invalidation)) !== undefined,
      replayed: (invalidation) => this.tell('replay', this.onReplayed, invalidation),
      stillMissed: (waiting) => {
        for (const invalidation of waiting) this.tellMissed(invalidation);
      },
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
        (await this.calls.run('delete', key, () => this.backend.delete([key]), undefined, true)) !==
        undefined,
      missed: (key) => this.miss({ kind: 'keys', keys: [key] }),
    });
    if (topology.onChange !== undefined) {
      const recent = new RecentChanges(config.prefix, clock);
      this.recent = recent;
      this.stopWatching = topology.onChange((changed) => {
        if (changed) {
          // Maybe another server (a failover): what the old one acknowledged last may be lost.
          for (const invalidation of recent.drain()) this.miss(invalidation);
          this.breakers.retryNow();
        }
        if (this.missed.pending) this.missed.now();
      });
    }
  }

  /** True while the (tier-wide) circuit breaker keeps this tier out of the way. */
  get unavailable(): boolean {
    return this.breakers.whole.isOpen;
  }

  /** True while the breaker of `key`'s server (the tier's, on a single server) is open. */
  unavailableFor(key: string): boolean {
    return this.breakers.for(key).isOpen;
  }

  /** The servers whose own breaker is open (a Redis Cluster's dead masters); empty on one server. */
  get unavailableServers(): string[] {
    return this.breakers.openScopes;
  }

  /**
   * Reads an entry; undefined on a miss or any failure. Synchronous for synchronous backends, whose
   * latency is sampled (one read in {@link SYNC_SAMPLE_EVERY}, the first included): reading the clock
   * twice would cost more than an in-process read itself.
   */
  get(key: string): CacheEntry | undefined | Promise<CacheEntry | undefined> {
    if (this.missed.pending) {
      // It may still hold entries invalidated while it was unreachable: those are a miss until replayed.
      this.missed.now();
      const blocked = this.missed.blocks(key);
      if (blocked === true) return undefined;
      if (blocked !== false) return this.readUnlessTagged(key, blocked);
    }
    return this.read(key);
  }

  private read(key: string): CacheEntry | undefined | Promise<CacheEntry | undefined> {
    if (this.failedWrites.has(key)) return undefined;
    const breaker = this.breakers.for(key);
    if (!breaker.allow()) return undefined;
    const timed = !this.synchronous || this.reads++ % SYNC_SAMPLE_EVERY === 0;
    const started = timed ? performance.now() : 0;
    let result: CacheEntry | undefined | Promise<CacheEntry | undefined>;
    try {
      result = this.backend.get(key);
    } catch (err) {
      this.calls.fail(err, 'get', key, breaker);
      return undefined;
    }
    if (!(result instanceof Promise)) {
      if (timed) this.latency.get.record(performance.now() - started);
      if (breaker.isOpen) breaker.success();
      return result;
    }
    return this.calls.settle(result, 'get', key, breaker, undefined, this.latency.get, started);
  }

  /** {@link read}, but a miss for an entry carrying any of `tags` (their invalidation waits). */
  private async readUnlessTagged(
    key: string,
    tags: ReadonlySet<string>,
  ): Promise<CacheEntry | undefined> {
    const entry = await this.read(key);
    return entry?.tags.some((tag) => tags.has(tag)) ? undefined : entry;
  }

  /**
   * Writes an entry (capped to this tier's TTL); failures are counted and logged, never thrown.
   * A write that fails, times out or is skipped by the open breaker makes this tier forget the key
   * (see {@link FailedWrites}; a skipped one is a missed invalidation): its previous value must not
   * be served again.
   */
  set(key: string, entry: CacheEntry, ttlMs: number): void | Promise<void> {
    this.recent?.key(key);
    if (!this.tagged && entry.tags.length > 0) {
      // A store that cannot delete by tag keeps no tagged entry: the key's older value goes.
      this.failedWrites.forget(key, undefined);
      return;
    }
    const breaker = this.breakers.for(key);
    if (!breaker.allow()) {
      this.miss({ kind: 'keys', keys: [key] });
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
      this.calls.fail(err, 'set', key, breaker);
      this.failedWrites.forget(key, undefined);
      return;
    }
    if (result instanceof Promise) {
      const written = result;
      return this.calls.settle(
        written,
        'set',
        key,
        breaker,
        undefined,
        this.latency.set,
        started,
        undefined,
        (late) => this.failedWrites.forget(key, late ? written : undefined),
      );
    }
    this.latency.set.record(performance.now() - started);
    if (breaker.isOpen) breaker.success();
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
    this.recent?.invalidation(invalidation);
    const removed = await this.apply(invalidation);
    if (removed === undefined) this.miss(invalidation);
    return removed;
  }

  /**
   * Records an invalidation another instance missed on this same shared store: this tier serves
   * no read until it has applied it itself (the store may still hold what it removes).
   */
  recordMissed(invalidation: InvalidationEvent): void {
    this.missed.add(invalidation);
  }

  private miss(invalidation: InvalidationEvent): void {
    this.missed.add(invalidation);
    this.tellMissed(invalidation);
  }

  /** Tells `onMissed` about a missed invalidation. */
  private tellMissed(invalidation: InvalidationEvent): void {
    this.tell('missed-invalidation', this.onMissed, invalidation);
  }

  /** Tells a listener about an invalidation; one that throws is logged. */
  private tell(
    which: string,
    listener: ((invalidation: InvalidationEvent) => void) | undefined,
    invalidation: InvalidationEvent,
  ): void {
    try {
      listener?.(invalidation);
    } catch (err) {
      this.logger.warn(`${this.label}: the ${which} listener threw (${describeError(err)})`);
    }
  }

  /** Runs an invalidation against the backend: how many keys it removed (0 for a clear), or undefined on failure. */
  private apply(invalidation: InvalidationEvent): Promise<number | undefined> {
    switch (invalidation.kind) {
      case 'keys': {
        const { keys } = invalidation;
        // One key goes through its server's breaker; several (maybe on several servers), the tier's.
        const one = keys.length === 1 ? keys[0] : undefined;
        return this.calls.run('delete', one, () => this.backend.delete(keys));
      }
      case 'pattern':
        return this.calls.run(
          'deletePattern',
          undefined,
          () => this.backend.deletePattern(invalidation.glob),
          this.bulkTimeoutMs,
        );
      case 'tags': {
        // A store that cannot delete by tag holds no tagged entry (see `set`).
        if (!this.tagged) return Promise.resolve(0);
        return this.calls.run(
          'deleteByTags',
          undefined,
          () => this.backend.deleteByTags!(invalidation.tags),
          this.bulkTimeoutMs,
        );
      }
      case 'clear':
        return this.calls.run(
          'clear',
          undefined,
          async () => (await this.backend.clear(invalidation.prefix), 0),
          this.bulkTimeoutMs,
        );
    }
  }

  /** A real round trip under the deadline, bypassing the breaker (for health checks). Rejects on failure. */
  ping(timeoutMs = this.config.timeoutMs): Promise<number> {
    return withDeadline(this.backend.ping(), timeoutMs, `${this.label} ping`);
  }

  /**
   * Before the engine closes (and its bus with it, so that what is replayed is still told to the
   * other instances): one last replay of the invalidations this tier missed, bounded like every
   * close step. What still waits is lost with this process: logged, as a count.
   */
  async replayBeforeClose(): Promise<void> {
    let left = this.missed.size;
    if (left === 0) return;
    await this.closeStep('last replay of missed invalidations', async () => {
      left = await this.missed.last();
    });
    if (left > 0)
      this.logger.warn(
        `${this.label} closed with ${left} missed invalidation(s) not replayed: other instances ` +
          'may read the entries they remove from it until those expire or are invalidated again',
      );
  }

  /**
   * Stops replaying missed invalidations, closes the backend, then waits for what was still running
   * against it (a replay step, the follow-up of a failed write): closing the backend makes those
   * fail fast. Each wait is bounded (the larger of the tier's deadline and 2 s); errors are logged.
   */
  async close(): Promise<void> {
    this.stopWatching?.();
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
    return this.calls.run(op, key, () => call(this.backend));
  }
}
