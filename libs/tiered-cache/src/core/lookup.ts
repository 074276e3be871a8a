import type { CacheEntry } from '../interfaces/cache-backend.interface.js';
import type { TierSelection } from '../interfaces/cache-service.interface.js';
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
 * fresh L2 entry is backfilled into L1 unless the key changed while L2 was asked. `tier` limits the
 * lookup as it limits writes: `'shared'` neither reads nor fills L1, `'local'` never asks L2.
 * Counts each tier's hits and misses (the cache view's own counters are `resolve`'s job).
 */
export function lookup(
  engine: TieredCache,
  key: string,
  now: number,
  tier?: TierSelection,
): Lookup | Promise<Lookup> {
  const local = engine.local;
  if (local === undefined || tier === 'shared')
    return lookupShared(engine, key, now, undefined, tier);
  const found = local.get(key);
  if (found instanceof Promise)
    return found.then((entry) => afterLocal(engine, key, entry, engine.clock(), tier));
  return afterLocal(engine, key, found, now, tier);
}

/** Judges what L1 answered; goes on to L2 unless it was fresh. */
function afterLocal(
  engine: TieredCache,
  key: string,
  found: CacheEntry | undefined,
  now: number,
  tier: TierSelection | undefined,
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
  return lookupShared(engine, key, now, stale, tier);
}

/** Asks L2, when there is one and `tier` allows it; `stale` is what L1 had within its grace. */
function lookupShared(
  engine: TieredCache,
  key: string,
  now: number,
  stale: CacheEntry | undefined,
  tier: TierSelection | undefined,
): Lookup | Promise<Lookup> {
  if (engine.shared === undefined || tier === 'local')
    return stale === undefined ? undefined : new StaleEntry(stale);
  // Taken before L2 is asked: a change of the key from now on forbids the backfill.
  const ticket = tier === 'shared' ? undefined : engine.changes.ticket();
  const found = engine.shared.get(key);
  if (found instanceof Promise)
    return found.then((entry) => afterShared(engine, key, entry, now, stale, ticket));
  return afterShared(engine, key, found, now, stale, ticket);
}

/** Judges what L2 answered: a fresh entry is backfilled; of two stale ones the fresher wins. */
function afterShared(
  engine: TieredCache,
  key: string,
  found: CacheEntry | undefined,
  now: number,
  stale: CacheEntry | undefined,
  ticket: number | undefined,
): Lookup {
  const counters = engine.shared!.counters;
  if (found !== undefined && found.staleUntil > now) {
    if (found.expiresAt > now) {
      counters.hits++;
      if (ticket !== undefined) backfill(engine, key, found, now, ticket);
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
 * background: a failure is the tier's to count and log. Skipped when the key changed since
 * `ticket` (taken before L2 was asked): what L2 answered may be the value that change removed.
 */
export function backfill(
  engine: TieredCache,
  key: string,
  entry: CacheEntry,
  now: number,
  ticket: number,
): void {
  const local = engine.local;
  if (local === undefined || !engine.changes.unchangedSince(key, ticket)) return;
  const done = local.set(key, entry, entry.staleUntil - now);
  // An asynchronous L1 may finish the write after a change that began meanwhile removed the key:
  // remove it again then (a miss at worst).
  if (done instanceof Promise)
    void done.then(() => {
      if (!engine.changes.unchangedSince(key, ticket)) void local.delete([key]);
    });
}
