import type { LoggerService } from '@nestjs/common';
import type { CacheEntry } from '../interfaces/cache-backend.interface.js';
import type {
  CacheStats,
  TierSelection,
  TierStats,
} from '../interfaces/cache-service.interface.js';
import { CacheEvents } from './cache-events.js';
import { SingleFlight } from './single-flight.js';
import type { InvalidationEvent } from './invalidation.js';
import type { Tier } from './tier.js';

/**
 * The two tiers shared by every cache view of one `CacheModule.forRoot`: writes and invalidates
 * both, and holds what the views share (the clock, the logger, single-flight, events). Reads go
 * through `lookup` (core/lookup.ts). Keys, globs and tags arrive fully namespaced.
 */
export class TieredCache {
  readonly singleFlight = new SingleFlight();
  /** Events of every cache view of this engine (hit, miss, stale, set, delete, error). */
  readonly events = new CacheEvents();
  /** Every cache (root and named) built on this engine, for metrics. */
  readonly views = new Set<{ readonly label: string; stats(): CacheStats }>();
  private readonly listeners = new Set<(event: InvalidationEvent) => void>();
  private closed = false;
  private invalidations = 0;

  constructor(
    readonly local: Tier | undefined,
    readonly shared: Tier | undefined,
    readonly clock: () => number,
    readonly logger: LoggerService,
    /** False with `enabled: false`: no tier stores anything and concurrent misses are not coalesced either. */
    readonly enabled = true,
  ) {
    for (const tier of [local, shared]) {
      if (tier === undefined) continue;
      tier.onError = (code) => {
        if (this.events.active.error)
          this.events.emit('error', { tier: tier.config.role, backend: tier.backend.name, code });
      };
    }
  }

  /** Bumped by every invalidation made through this engine, before it runs (for compare-and-set in L1). */
  get generation(): number {
    return this.invalidations;
  }

  /** Writes an entry to the selected tiers; resolves when every tier finished or gave up. */
  async write(key: string, entry: CacheEntry, tier: TierSelection = 'both'): Promise<void> {
    const ttlMs = Math.max(1, entry.staleUntil - this.clock());
    const local = tier !== 'shared' ? this.local?.set(key, entry, ttlMs) : undefined;
    const shared = tier !== 'local' ? this.shared?.set(key, entry, ttlMs) : undefined;
    if (local instanceof Promise) await local;
    if (shared instanceof Promise) await shared;
  }

  /** Deletes keys from both tiers; resolves to how many keys existed (in the tier that had more). */
  async delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    this.invalidations++;
    const removed = await this.both((tier) => tier.delete(keys));
    this.publish({ kind: 'keys', keys });
    return removed;
  }

  /** Deletes keys matching a glob from both tiers; resolves to how many distinct keys were removed. */
  async deletePattern(glob: string): Promise<number> {
    this.invalidations++;
    const removed = await this.both((tier) => tier.deletePattern(glob));
    this.publish({ kind: 'pattern', glob });
    return removed;
  }

  /** Deletes keys carrying any of the tags from both tiers; resolves to how many distinct keys. */
  async deleteByTags(tags: readonly string[]): Promise<number> {
    if (tags.length === 0) return 0;
    this.invalidations++;
    const removed = await this.both((tier) => tier.deleteByTags(tags));
    this.publish({ kind: 'tags', tags });
    return removed;
  }

  /** Removes every entry under a prefix from both tiers. */
  async clear(prefix: string): Promise<void> {
    this.invalidations++;
    await Promise.all([this.local?.clear(prefix), this.shared?.clear(prefix)]);
    this.publish({ kind: 'clear', prefix });
  }

  /** Subscribes to invalidations made through this engine; returns the unsubscribe function. */
  onInvalidate(listener: (event: InvalidationEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The tiers' counters and latency percentiles (shared by every cache view of this engine). */
  tierStats(): CacheStats['tiers'] {
    const tiers: CacheStats['tiers'] = {};
    if (this.local !== undefined) tiers.local = tierStats(this.local);
    if (this.shared !== undefined) tiers.shared = tierStats(this.shared);
    return tiers;
  }

  /** Closes both tiers' backends. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.events.clear();
    await Promise.all([this.local?.close(), this.shared?.close()]);
  }

  /**
   * Runs an invalidation on both tiers at once. Every write goes to both tiers, so L2 normally
   * holds a superset of L1 and the larger count is the number of distinct keys removed.
   */
  private async both(op: (tier: Tier) => Promise<number | undefined>): Promise<number> {
    const [a, b] = await Promise.all([
      this.local === undefined ? undefined : op(this.local),
      this.shared === undefined ? undefined : op(this.shared),
    ]);
    return Math.max(a ?? 0, b ?? 0);
  }

  private publish(event: InvalidationEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger.warn(
          `an invalidation listener threw: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
  }
}

/** Counters and latency of one tier. */
function tierStats(tier: Tier): TierStats {
  const { hits, misses, errors } = tier.counters;
  const get = tier.latency.get.percentiles();
  const set = tier.latency.set.percentiles();
  return {
    backend: tier.backend.name,
    hits,
    misses,
    errors,
    hitRate: rate(hits, misses),
    ...(get || set ? { latencyMs: { ...(get && { get }), ...(set && { set }) } } : {}),
  };
}

/** hits / (hits + misses), 0 without reads. */
export function rate(hits: number, misses: number): number {
  return hits + misses === 0 ? 0 : hits / (hits + misses);
}
