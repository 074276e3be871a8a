import { CacheError, CacheErrorCode } from '../cache.errors.js';
import { isAtomicBackend, type AtomicCacheBackend } from '../interfaces/cache-backend.interface.js';
import type { CacheView } from './cache-view.js';
import { backfill, isFresh, lookup } from './lookup.js';
import { entryOf, type Origin, type OriginPlan, type Outcome } from './origin-plan.js';
import type { Tier } from './tier.js';
import type { TieredCache } from './tiered-cache.js';

/** The shared tier and its backend, when that backend can do atomic writes. */
export interface AtomicTier {
  readonly tier: Tier;
  readonly backend: AtomicCacheBackend;
}

/** How often a process waiting for another's `at-most-once` computation polls L2, in ms. */
const POLL_MS = 25;

/** The shared tier when its backend can do atomic writes. */
export function atomicTier(engine: TieredCache): AtomicTier | undefined {
  const tier = engine.shared;
  return tier !== undefined && isAtomicBackend(tier.backend)
    ? { tier, backend: tier.backend }
    : undefined;
}

/**
 * Compare-and-set: the value is stored in L2 only if no invalidation of the key happened since the
 * computation began (the backend's version check), and in L1 only if no invalidation went through
 * this process meanwhile. An L2 that cannot be reached is not written at all.
 */
export async function atLeastOnce<C>(
  view: CacheView,
  { tier, backend }: AtomicTier,
  key: string,
  origin: Origin<C>,
  context: C,
  plan: OriginPlan,
  ticket: number,
): Promise<Outcome> {
  const engine = view.engine;
  const version = await tier.attempt('readVersion', key, () => backend.readVersion(key));
  const value = await origin.run(context);
  if (!origin.store(value, context) || version === undefined) return { value, status: 'miss' };
  const entry = entryOf(value, plan, engine.clock());
  const ttlMs = entry.staleUntil - engine.clock();
  const written =
    plan.tier === 'local'
      ? true
      : await tier.attempt('setIfVersion', key, () =>
          backend.setIfVersion(key, entry, ttlMs, version),
        );
  if (written === true && plan.tier !== 'shared') await view.store(key, entry, 'local', ticket);
  return { value, status: 'miss' };
}

/**
 * One computation across every process sharing the Redis: the lease holder computes and stores,
 * the others poll for the value (bounded by twice the lease). A holder that dies frees its lease
 * when it expires. If the shared tier cannot be reached, it degrades to once per process.
 */
export async function atMostOnce<C>(
  view: CacheView,
  { tier, backend }: AtomicTier,
  key: string,
  origin: Origin<C>,
  context: C,
  plan: OriginPlan,
  ticket: number,
): Promise<Outcome> {
  const engine = view.engine;
  const giveUpAt = Date.now() + 2 * plan.leaseMs;
  for (;;) {
    const token = await tier.attempt('acquireLease', key, () =>
      backend.acquireLease(key, plan.leaseMs),
    );
    if (token !== undefined || tier.unavailableFor(key)) {
      try {
        const found = await lookup(engine, key, engine.clock(), plan.tier);
        if (isFresh(found)) return { value: found.value, status: 'hit' };
        const value = await origin.run(context);
        if (origin.store(value, context))
          await view.store(key, entryOf(value, plan, engine.clock()), plan.tier, ticket);
        return { value, status: 'miss' };
      } finally {
        if (token !== undefined)
          await tier.attempt('releaseLease', key, () => backend.releaseLease(key, token));
      }
    }
    const polled = engine.changes.ticket();
    const found = await tier.get(key);
    const now = engine.clock();
    if (found !== undefined && found.expiresAt > now) {
      if (plan.tier !== 'shared') backfill(engine, key, found, now, polled);
      return { value: found.value, status: 'hit' };
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
