import { describeError } from '../cache.errors.js';
import type { CacheEntry } from '../interfaces/cache-backend.interface.js';
import { keyRef } from '../keys/key-encoding.js';
import { atLeastOnce, atMostOnce, atomicTier } from './atomic-origin.js';
import type { CacheView } from './cache-view.js';
import { settleWithin, withHardTimeout } from './hard-timeout.js';
import { entryOf, type Origin, type OriginPlan, type Outcome } from './origin-plan.js';

const TIMED_OUT = Symbol('timed out');

/**
 * The miss path shared by `getOrSet`, `@Cached` routes and `@Cached` methods. Concurrent misses of
 * one key in this process share one computation (not with `enabled: false`, where every call runs
 * its origin, as without the library). With `stale` (an entry within its grace window), the stale
 * value is served when the origin throws or, with a timeout, is slower than that; the computation
 * then goes on in the background and stores its value. With a hard timeout, the computation is
 * given up on past it: every caller waiting for it is released (with the stale value if there is
 * one, else an `OriginTimeoutError`) and the next call starts a fresh one; what it computes late is
 * stored only if the key did not change since it began. Counts nothing: `resolve` does.
 */
export async function runOrigin<C>(
  view: CacheView,
  key: string,
  stale: CacheEntry | undefined,
  origin: Origin<C>,
  context: C,
): Promise<Outcome> {
  const engine = view.engine;
  const plan = origin.plan(context);
  const hardTimeoutMs = plan.hardTimeoutMs;
  const run =
    hardTimeoutMs === undefined
      ? (ticket: number) => compute(view, key, origin, context, plan, ticket)
      : (ticket: number) =>
          withHardTimeout(
            compute(view, key, origin, context, plan, ticket),
            hardTimeoutMs,
            key,
            () => origin.abandoned?.(context),
          );
  const computation = engine.enabled
    ? engine.singleFlight.run(key, run)
    : run(engine.changes.ticket());
  if (stale === undefined) return computation;
  try {
    const result =
      plan.timeoutMs === undefined
        ? await computation
        : await raceTimeout(computation, plan.timeoutMs);
    if (result !== TIMED_OUT) return result;
    computation.catch((err: unknown) => {
      engine.logger.warn(
        `background refresh of ${keyRef(key)} failed (${describeError(err)}); the stale value stays`,
      );
    });
  } catch {
    // The origin failed: serve the stale value.
  }
  return { value: stale.value, status: 'stale' };
}

/**
 * Runs the origin once (atomically across processes when the plan says so) and stores its value,
 * unless the key changed since `ticket` (taken before the origin ran): the value may predate it.
 */
async function compute<C>(
  view: CacheView,
  key: string,
  origin: Origin<C>,
  context: C,
  plan: OriginPlan,
  ticket: number,
): Promise<Outcome> {
  const atomic = plan.atomic === undefined ? undefined : atomicTier(view.engine);
  if (atomic !== undefined && plan.atomic === 'at-most-once')
    return atMostOnce(view, atomic, key, origin, context, plan, ticket);
  if (atomic !== undefined && plan.atomic === 'at-least-once')
    return atLeastOnce(view, atomic, key, origin, context, plan, ticket);
  const value = await origin.run(context);
  if (origin.store(value, context)) {
    const stored =
      origin.ttlOf === undefined ? plan : { ...plan, ttlMs: origin.ttlOf(value, context) };
    await view.store(key, entryOf(value, stored, view.engine.clock()), plan.tier, ticket);
  }
  return { value, status: 'miss' };
}

/** Resolves like `promise`, or to TIMED_OUT after `ms` (the promise keeps running). */
function raceTimeout<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  return settleWithin<T, typeof TIMED_OUT>(promise, ms, (resolve) => resolve(TIMED_OUT));
}
