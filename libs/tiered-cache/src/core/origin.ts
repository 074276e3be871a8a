import { CacheError, CacheErrorCode } from '../cache.errors.js';
import {
  isAtomicBackend,
  type AtomicCacheBackend,
  type CacheEntry,
} from '../interfaces/cache-backend.interface.js';
import type { TierSelection } from '../interfaces/cache-service.interface.js';
import type { Tier } from './tier.js';
import type { CacheService } from '../cache.service.js';
import type { TieredCache } from './tiered-cache.js';

/** How a value is computed and stored on a miss; resolved once (per decorator) or per call. */
export interface OriginPlan {
  readonly ttlMs: number;
  readonly graceMs: number;
  /** Namespaced tags. */
  readonly tags: readonly string[];
  readonly tier: TierSelection | undefined;
  /** Soft timeout of the origin when a stale value exists, in ms. */
  readonly timeoutMs: number | undefined;
  readonly atomic: 'at-most-once' | 'at-least-once' | undefined;
  /** Lease of `at-most-once`, in ms: longer than the origin can take. */
  readonly leaseMs: number;
  /** Whether a computed value is stored (`undefined` never is; `null` per `cacheNullish`). */
  readonly store: (value: unknown) => boolean;
}

/** Where a value came from. */
export type OriginStatus = 'hit' | 'miss' | 'stale';

/** A value and where it came from. */
export interface Outcome<T> {
  readonly value: T;
  readonly status: OriginStatus;
}

const TIMED_OUT = Symbol('timed out');
const POLL_MS = 25;

/**
 * The miss path shared by `getOrSet`, `@Cached` routes and `@Cached` methods. Concurrent misses of
 * one key in this process share one computation. With `stale` (an entry within its grace window),
 * the stale value is served when the origin throws or, with `timeoutMs`, is slower than that; the
 * computation then goes on in the background and stores its value.
 */
export async function runOrigin<T>(
  cache: CacheService,
  key: string,
  stale: CacheEntry | undefined,
  factory: () => T | Promise<T>,
  plan: OriginPlan,
): Promise<Outcome<T>> {
  const engine = cache.engine;
  // With `enabled: false` the app behaves as without the library: every call runs its origin.
  const run = () => compute(cache, key, factory, plan);
  const computation = engine.enabled ? engine.singleFlight.run(key, run) : run();
  if (stale === undefined) return computation;
  try {
    const result =
      plan.timeoutMs === undefined
        ? await computation
        : await raceTimeout(computation, plan.timeoutMs);
    if (result !== TIMED_OUT) return result;
    computation.catch((err: unknown) => {
      engine.logger.warn(
        `background refresh failed; the stale value stays: ${err instanceof Error ? err.message : String(err)}`,
      );
    });
  } catch {
    // The origin failed: serve the stale value.
  }
  cache.countStale(key);
  return { value: stale.value as T, status: 'stale' };
}

/** Builds the entry of a computed value. */
export function entryOf(
  engine: TieredCache,
  value: unknown,
  plan: Pick<OriginPlan, 'ttlMs' | 'graceMs' | 'tags'>,
): CacheEntry {
  const now = engine.clock();
  return {
    value,
    expiresAt: now + plan.ttlMs,
    staleUntil: now + plan.ttlMs + plan.graceMs,
    tags: plan.tags,
  };
}

/** The shared tier when its backend can do atomic writes. */
export function atomicTier(
  engine: TieredCache,
): { tier: Tier; backend: AtomicCacheBackend } | undefined {
  const tier = engine.shared;
  return tier !== undefined && isAtomicBackend(tier.backend)
    ? { tier, backend: tier.backend }
    : undefined;
}

async function compute<T>(
  cache: CacheService,
  key: string,
  factory: () => T | Promise<T>,
  plan: OriginPlan,
): Promise<Outcome<T>> {
  const engine = cache.engine;
  const atomic = plan.atomic === undefined ? undefined : atomicTier(engine);
  if (atomic !== undefined && plan.atomic === 'at-most-once')
    return atMostOnce(cache, atomic, key, factory, plan);
  if (atomic !== undefined && plan.atomic === 'at-least-once')
    return atLeastOnce(cache, atomic, key, factory, plan);
  const value = await factory();
  if (plan.store(value)) await cache.write(key, entryOf(engine, value, plan), plan.tier);
  return { value, status: 'miss' };
}

/**
 * Compare-and-set: the value is stored in L2 only if no invalidation of the key happened since the
 * computation began (the backend's version check), and in L1 only if no invalidation went through
 * this process meanwhile. An L2 that cannot be reached is not written at all.
 */
async function atLeastOnce<T>(
  cache: CacheService,
  { tier, backend }: { tier: Tier; backend: AtomicCacheBackend },
  key: string,
  factory: () => T | Promise<T>,
  plan: OriginPlan,
): Promise<Outcome<T>> {
  const engine = cache.engine;
  const generation = engine.generation;
  const version = await tier.attempt('readVersion', key, () => backend.readVersion(key));
  const value = await factory();
  if (!plan.store(value) || version === undefined) return { value, status: 'miss' };
  const entry = entryOf(engine, value, plan);
  const ttlMs = entry.staleUntil - engine.clock();
  const written =
    plan.tier === 'local'
      ? true
      : await tier.attempt('setIfVersion', key, () =>
          backend.setIfVersion(key, entry, ttlMs, version),
        );
  if (written === true && engine.generation === generation && plan.tier !== 'shared')
    await cache.write(key, entry, 'local');
  return { value, status: 'miss' };
}

/**
 * One computation across every process sharing the Redis: the lease holder computes and stores,
 * the others poll for the value (bounded by twice the lease). A holder that dies frees its lease
 * when it expires. If the shared tier cannot be reached, it degrades to once per process.
 */
async function atMostOnce<T>(
  cache: CacheService,
  { tier, backend }: { tier: Tier; backend: AtomicCacheBackend },
  key: string,
  factory: () => T | Promise<T>,
  plan: OriginPlan,
): Promise<Outcome<T>> {
  const engine = cache.engine;
  const giveUpAt = Date.now() + 2 * plan.leaseMs;
  for (;;) {
    const token = await tier.attempt('acquireLease', key, () =>
      backend.acquireLease(key, plan.leaseMs),
    );
    if (token !== undefined || tier.unavailable) {
      try {
        const found = await engine.read(key);
        if (found !== undefined && found.expiresAt > engine.clock())
          return { value: found.value as T, status: 'hit' };
        const value = await factory();
        if (plan.store(value)) await cache.write(key, entryOf(engine, value, plan), plan.tier);
        return { value, status: 'miss' };
      } finally {
        if (token !== undefined)
          await tier.attempt('releaseLease', key, () => backend.releaseLease(key, token));
      }
    }
    const found = await tier.get(key);
    if (found !== undefined && found.expiresAt > engine.clock()) {
      void engine.local?.set(key, found, found.staleUntil - engine.clock());
      return { value: found.value as T, status: 'hit' };
    }
    if (Date.now() > giveUpAt) {
      throw new CacheError(
        CacheErrorCode.E_LOCK_TIMEOUT,
        `waited ${2 * plan.leaseMs} ms for another process to compute a value`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Resolves like `promise`, or to TIMED_OUT after `ms` (the promise keeps running). */
function raceTimeout<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(TIMED_OUT), ms);
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
