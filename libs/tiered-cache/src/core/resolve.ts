import type { CacheEntry } from '../interfaces/cache-backend.interface.js';
import type { CacheView } from './cache-view.js';
import { isFresh, lookup, StaleEntry, type Lookup } from './lookup.js';
import type { Origin, Outcome } from './origin-plan.js';
import { runOrigin } from './origin.js';

/**
 * The one read path of every caller: `CacheService.get` ({@link read}), and `getOrSet`, `@Cached`
 * routes and `@Cached` provider methods ({@link resolve}). Each read is looked up once, judged
 * once, and counted here, once: a hit, a miss, and a stale value served (with their events).
 */

/**
 * Reads a stored key: the fresh entry, or undefined (a stale entry is a miss here). Synchronous
 * when L1 answers with a fresh entry.
 */
export function read(
  view: CacheView,
  key: string,
): CacheEntry | undefined | Promise<CacheEntry | undefined> {
  const found = lookup(view.engine, key, view.engine.readClock.now());
  if (found instanceof Promise) return found.then((later) => count(view, key, later));
  return count(view, key, found);
}

/**
 * The fresh entry of a stored key, or on a miss the outcome of its origin (run once per key at a
 * time in this process; a stale entry within grace is served if the origin fails or is slow).
 * An L1 hit returns the entry itself, synchronously; everything else returns a promise.
 */
export function resolve<C>(
  view: CacheView,
  key: string,
  origin: Origin<C>,
  context: C,
): CacheEntry | Promise<Outcome> {
  const found = lookup(view.engine, key, view.engine.readClock.now(), origin.tier(context));
  if (found instanceof Promise)
    return found.then((later) => asOutcome(hitOrOrigin(view, key, later, origin, context)));
  return hitOrOrigin(view, key, found, origin, context);
}

/** Counts a lookup as a hit or a miss (with its event); returns the fresh entry, if any. */
function count(view: CacheView, key: string, found: Lookup): CacheEntry | undefined {
  const events = view.engine.events;
  if (isFresh(found)) {
    view.counters.hits++;
    if (events.active.hit) events.emit('hit', { cache: view.label, key });
    return found;
  }
  view.counters.misses++;
  if (events.active.miss) events.emit('miss', { cache: view.label, key });
  return undefined;
}

/** Counts a stale value served within grace (with its event). */
function countStale(view: CacheView, key: string): void {
  view.counters.stale++;
  const events = view.engine.events;
  if (events.active.stale) events.emit('stale', { cache: view.label, key });
}

function hitOrOrigin<C>(
  view: CacheView,
  key: string,
  found: Lookup,
  origin: Origin<C>,
  context: C,
): CacheEntry | Promise<Outcome> {
  const fresh = count(view, key, found);
  if (fresh !== undefined) return fresh;
  const stale = found instanceof StaleEntry ? found.entry : undefined;
  return runOrigin(view, key, stale, origin, context).then((outcome) => {
    if (outcome.status === 'stale') countStale(view, key);
    return outcome;
  });
}

function asOutcome(result: CacheEntry | Promise<Outcome>): Outcome | Promise<Outcome> {
  return result instanceof Promise ? result : { value: result.value, status: 'hit' };
}
