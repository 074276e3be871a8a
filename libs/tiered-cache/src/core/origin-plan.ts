import type { CacheEntry } from '../interfaces/cache-backend.interface.js';
import type { GetOrSetOptions, TierSelection } from '../interfaces/cache-service.interface.js';
import type { CacheViewConfig } from './cache-view.js';
import { MAX_TIMER_MS, parseDuration, parsePositiveDuration } from './duration.js';

/** Default lease of `atomic: 'at-most-once'`, in ms. */
export const DEFAULT_LEASE_MS = 10_000;

/** How a value is computed and stored on a miss; resolved once (per decorator) or per call. */
export interface OriginPlan {
  /** Time to live, in ms. */
  readonly ttlMs: number;
  /** How long past its TTL the entry may be served stale, in ms. */
  readonly graceMs: number;
  /** Namespaced tags. */
  readonly tags: readonly string[];
  readonly tier: TierSelection | undefined;
  /** Soft timeout of the origin when a stale value exists, in ms. */
  readonly timeoutMs: number | undefined;
  /** Hard timeout of the origin, in ms: past it every caller waiting for it is released. */
  readonly hardTimeoutMs: number | undefined;
  readonly atomic: 'at-most-once' | 'at-least-once' | undefined;
  /** Lease of `at-most-once`, in ms: longer than the origin can take. */
  readonly leaseMs: number;
}

/** Where a value came from: a fresh entry, the origin, or a stale entry served within grace. */
export type OriginStatus = 'hit' | 'miss' | 'stale';

/** A value and where it came from. */
export interface Outcome<T = unknown> {
  readonly value: T;
  readonly status: OriginStatus;
}

/**
 * What `resolve` runs on a miss, for one kind of caller (`getOrSet`, a route, a provider method).
 * Made once; `context` carries what differs per call, so a hit allocates no closure.
 */
export interface Origin<C> {
  /** The tiers this call reads (and its value is written to); asked on every call. */
  tier(context: C): TierSelection | undefined;
  /** The plan of this call; asked only on a miss. */
  plan(context: C): OriginPlan;
  /** Computes the value (the factory, the route handler, the provider method). */
  run(context: C): unknown;
  /** Whether a computed value is stored (`undefined` never is; `null` per `cacheNullish`). */
  store(value: unknown, context: C): boolean;
  /**
   * Told when the hard timeout released the callers of the computation this call started: its
   * own work goes on unseen (a route stops capturing its answer).
   */
  abandoned?(context: C): void;
  /**
   * The TTL of a computed value, in ms, when it depends on the value (cache-manager's
   * `wrap(key, fn, (value) => ttl)`); without it, the plan's. Not consulted by atomic plans.
   */
  ttlOf?(value: unknown, context: C): number;
}

/**
 * Resolves per-call or per-decorator options against a cache's defaults. `where` prefixes option
 * names in error messages (e.g. `@Cached on UsersController.findOne`).
 */
export function originPlan(
  defaults: Pick<CacheViewConfig, 'ttlMs' | 'graceMs'>,
  options: GetOrSetOptions | undefined,
  tags: readonly string[],
  where?: string,
): OriginPlan {
  const name = (option: string) => (where === undefined ? option : `${where} ${option}`);
  return {
    ttlMs:
      options?.ttl === undefined ? defaults.ttlMs : parsePositiveDuration(options.ttl, name('ttl')),
    graceMs:
      options?.grace === undefined ? defaults.graceMs : parseDuration(options.grace, name('grace')),
    tags,
    tier: options?.tier,
    timeoutMs:
      options?.timeout === undefined
        ? undefined
        : parseDuration(options.timeout, name('timeout'), MAX_TIMER_MS),
    hardTimeoutMs:
      options?.hardTimeout === undefined
        ? undefined
        : parsePositiveDuration(options.hardTimeout, name('hardTimeout'), MAX_TIMER_MS),
    atomic: options?.atomic,
    leaseMs:
      options?.lease === undefined
        ? DEFAULT_LEASE_MS
        : parsePositiveDuration(options.lease, name('lease')),
  };
}

/** The entry of a value computed at `now` under a plan. */
export function entryOf(
  value: unknown,
  plan: Pick<OriginPlan, 'ttlMs' | 'graceMs' | 'tags'>,
  now: number,
): CacheEntry {
  return {
    value,
    expiresAt: now + plan.ttlMs,
    staleUntil: now + plan.ttlMs + plan.graceMs,
    tags: plan.tags,
  };
}
