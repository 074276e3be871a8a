import type { Duration } from './duration.interface.js';

/** Latency percentiles of recent operations, in milliseconds. */
export interface LatencyPercentiles {
  p50: number;
  p90: number;
  p99: number;
  /** Operations the figures are computed from (the most recent, at most 1024). */
  samples: number;
}

/** Which tiers a write goes to. */
export type TierSelection = 'local' | 'shared' | 'both';

/** Options of `CacheService.set` and `mset` entries. */
export interface SetOptions {
  /** Time to live; default the cache's `ttl`. */
  ttl?: Duration;
  /** Tags, for `deleteByTag`. */
  tags?: readonly string[];
  /** How long past its TTL the entry may be served stale by `getOrSet` when the origin fails. */
  grace?: Duration;
  /** Which tiers to write. Default `'both'`. */
  tier?: TierSelection;
}

/** Options of `CacheService.getOrSet`. */
export interface GetOrSetOptions extends SetOptions {
  /**
   * Soft timeout for the factory when a stale value (within `grace`) exists: past it, the stale value
   * is returned and the factory goes on in the background to refresh the entry.
   */
  timeout?: Duration;
  /**
   * Hard timeout of the factory: past it, the caller and every caller that joined its computation
   * are released with an `OriginTimeoutError` (`E_ORIGIN_TIMEOUT`), unless a stale value within
   * `grace` can be returned instead, and the next call starts a fresh computation. The factory goes
   * on; its late value is stored only if nothing changed the key since it began. At most 24 days.
   */
  hardTimeout?: Duration;
  /**
   * Atomic computation across processes (needs a `redis-atomic` shared tier; ignored without one):
   * `'at-most-once'` runs the factory once per key and TTL window across every process sharing the
   * Redis, the others wait for its value; `'at-least-once'` may run it more than once, but a value
   * computed before an invalidation of the key never overwrites that invalidation.
   */
  atomic?: 'at-most-once' | 'at-least-once';
  /** Lease of `'at-most-once'`: longer than the factory can take. Default '10s'. */
  lease?: Duration;
}

/** One entry of `CacheService.warm`. */
export interface WarmEntry {
  key: string;
  /** Loads the value; a throw counts as failed and does not stop the warm-up. */
  load: () => unknown | Promise<unknown>;
  ttl?: Duration;
  tags?: string[];
}

/** Options of `CacheService.warm`. */
export interface WarmOptions {
  /** Loads running at once. Default 8. */
  concurrency?: number;
  /** TTL of entries that give none. Default the cache's `ttl`. */
  ttl?: Duration;
  /** Longest one load may take: past it, it counts as failed and its value is not stored. */
  hardTimeout?: Duration;
}

/** Outcome of `CacheService.warm`. */
export interface WarmReport {
  loaded: number;
  failed: number;
  /** Wall time of the whole warm-up, in ms. */
  durationMs: number;
}

/** Counters of one tier. `hitRate` is hits / (hits + misses), 0 when there were no reads. */
export interface TierStats {
  backend: string;
  hits: number;
  misses: number;
  errors: number;
  hitRate: number;
  /** Percentiles of the last 1024 reads (`get`) and writes (`set`) of this tier, in ms. */
  latencyMs?: { get?: LatencyPercentiles; set?: LatencyPercentiles };
}

/**
 * Counters of a cache since start. A read is a hit when some tier had a fresh entry, a miss
 * otherwise; `stale` counts stale values served. `hits`, `misses` and `stale` are this cache's
 * own (the root and each named cache count apart); the tiers are shared by all of them, so
 * `tiers` and `errors` (the tiers' errors summed) are the same for every cache of the module.
 */
export interface CacheStats {
  hits: number;
  misses: number;
  stale: number;
  errors: number;
  /** hits / (hits + misses), 0..1. */
  hitRate: number;
  tiers: { local?: TierStats; shared?: TierStats };
}
