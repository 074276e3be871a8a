import type { CacheEntry } from '../interfaces/cache-backend.interface.js';
import type { TieredCache } from './tiered-cache.js';

/**
 * An entry past its TTL but within its grace: served only when the origin fails or is slower
 * than its timeout. Wrapped so that a fresh entry, the common case, needs no wrapper at all.
 */
export class StaleEntry {
  constructor(readonly entry: CacheEntry) {}
}

/**
 * What a lookup found, judged once at one clock reading: a fresh entry (the entry itself), a
 * stale candidate ({@link StaleEntry}), or nothing (`undefined`).
 */
export type Lookup = CacheEntry | StaleEntry | undefined;

/** True when a lookup found a fresh entry. */
export function isFresh(found: Lookup): found is CacheEntry {
  return found !== undefined && !(found instanceof StaleEntry);
}

/**
 * Looks `key` up in L1, then in L2, and judges freshness once, at `now`. A fresh L1 entry is
 * returned synchronously, as is; a stale L1 entry still asks L2, which may hold a fresher one; a
 * fresh L2 entry is backfilled into L1. Counts each tier's hits and misses (the cache view's own
 * counters are `resolve`'s job).
 */
export function lookup(engine: TieredCache, key: string, now: number): Lookup | Promise<Lookup> {
  const local = engine.local;
  if (local === undefined) return lookupShared(engine, key, now, undefined);
  const found = local.get(key);
  if (found instanceof Promise)
    return found.then((entry) => afterLocal(engine, key, entry, engine.clock()));
  return afterLocal(engine, key, found, now);
}

/** Judges what L1 answered; goes on to L2 unless it was fresh. */
function afterLocal(
  engine: TieredCache,
  key: string,
  found: CacheEntry | undefined,
  now: number,
): Lookup | Promise<Lookup> {
  const counters = engine.local!.counters;
  let stale: CacheEntry | undefined;
  if (found !== undefined && found.staleUntil > now) {
    if (found.expiresAt > now) {
      counters.hits++;
      return found;
    }
    stale = found;
  }
  counters.misses++;
  return lookupShared(engine, key, now, stale);
}

/** Asks L2, when there is one; `stale` is what L1 had within its grace. */
function lookupShared(
  engine: TieredCache,
  key: string,
  now: number,
  stale: CacheEntry | undefined,
): Lookup | Promise<Lookup> {
  if (engine.shared === undefined) return stale === undefined ? undefined : new StaleEntry(stale);
  const found = engine.shared.get(key);
  if (found instanceof Promise)
    return found.then((entry) => afterShared(engine, key, entry, now, stale));
  return afterShared(engine, key, found, now, stale);
}

/** Judges what L2 answered: a fresh entry is backfilled; of two stale ones the fresher wins. */
function afterShared(
  engine: TieredCache,
  key: string,
  found: CacheEntry | undefined,
  now: number,
  stale: CacheEntry | undefined,
): Lookup {
  const counters = engine.shared!.counters;
  if (found !== undefined && found.staleUntil > now) {
    if (found.expiresAt > now) {
      counters.hits++;
      backfill(engine, key, found, now);
      return found;
    }
    counters.misses++;
    return new StaleEntry(stale === undefined || found.expiresAt > stale.expiresAt ? found : stale);
  }
  counters.misses++;
  return stale === undefined ? undefined : new StaleEntry(stale);
}

/**
 * Copies a fresh entry found in L2 into L1 for the rest of its life (grace included), in the
 * background: a failure is the tier's to count and log.
 */
export function backfill(engine: TieredCache, key: string, entry: CacheEntry, now: number): void {
  void engine.local?.set(key, entry, entry.staleUntil - now);
}
