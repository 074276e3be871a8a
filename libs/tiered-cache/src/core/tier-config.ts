import type { CacheBackend } from '../interfaces/cache-backend.interface.js';
import type { BreakerSettings } from './circuit-breaker.js';

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
