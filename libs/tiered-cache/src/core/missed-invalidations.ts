import { globToRegExp } from '../keys/glob.js';
import type { InvalidationEvent } from './invalidation.js';

/** How many missed invalidations a tier remembers; past that it clears its whole namespace instead. */
export const MAX_MISSED_INVALIDATIONS = 1_000;
/** Most keys replayed by one delete. */
export const REPLAY_KEY_BATCH = 100;

/**
 * The invalidations a tier could not apply (it failed, timed out or was skipped by the open
 * circuit breaker), including the keys whose new value it could not store. Until they are
 * replayed the tier must not serve the entries they were meant to remove (see {@link blocks}):
 * it may still hold them. Other keys are served: on a Redis Cluster, a dead master's missed
 * deletes keep only its keys out, not the healthy masters'. Deletions commute with one another, so they are replayed late and in any order: keys are
 * kept once each (a key written a thousand times during an outage is one entry) and replayed in
 * batches, patterns, tags and prefixes one by one.
 *
 * Bounded: past `max` waiting keys and invalidations, everything is folded into one clear of the
 * namespace, which removes everything they could have. That fold has a price: once the tier is
 * back, every entry of the namespace in that tier is gone (SCAN + UNLINK in batches, so Redis is
 * never blocked), and every instance's reads of that tier miss until the origin has refilled it.
 *
 * One invalidation at a time is taken out for replay ({@link take}); it still counts in
 * {@link size} until {@link settle} says whether it was applied, so the tier stays closed to reads
 * meanwhile, and anything recorded during the replay is kept for the next one.
 */
export class MissedInvalidations {
  private readonly keys = new Set<string>();
  private others: InvalidationEvent[] = [];
  /** Everything waiting was folded into one clear of the namespace. */
  private folded = false;
  private inFlight: InvalidationEvent | undefined;
  /** How many times the queue overflowed into a namespace clear. */
  folds = 0;
  /** Matchers of the patterns waiting, by glob. */
  private readonly matchers = new Map<string, RegExp>();

  /**
   * @param prefix The namespace prefix of every key of the engine (`<namespace>:`), cleared on overflow.
   * @param max How many keys and invalidations are remembered one by one.
   */
  constructor(
    private readonly prefix: string,
    private readonly max = MAX_MISSED_INVALIDATIONS,
  ) {}

  /** How many are waiting or being replayed (0 on the hot path). */
  get size(): number {
    return (
      (this.folded ? 1 : this.keys.size + this.others.length) +
      (this.inFlight === undefined ? 0 : 1)
    );
  }

  /**
   * Whether what waits here (or is being replayed) may remove `key`: true, false, or the tags
   * that decide once the entry's own tags are known (a tag invalidation waits).
   */
  blocks(key: string): boolean | ReadonlySet<string> {
    if (this.folded || this.keys.has(key)) return true;
    let tags: Set<string> | undefined;
    const check = (invalidation: InvalidationEvent): boolean => {
      switch (invalidation.kind) {
        case 'keys':
          return invalidation.keys.includes(key);
        case 'clear':
          return key.startsWith(invalidation.prefix);
        case 'pattern':
          return this.matcher(invalidation.glob).test(key);
        case 'tags':
          for (const tag of invalidation.tags) (tags ??= new Set()).add(tag);
          return false;
      }
    };
    if (this.inFlight !== undefined && check(this.inFlight)) return true;
    for (const invalidation of this.others) if (check(invalidation)) return true;
    return tags ?? false;
  }

  private matcher(glob: string): RegExp {
    let matcher = this.matchers.get(glob);
    if (matcher === undefined) {
      if (this.matchers.size >= this.max) this.matchers.clear();
      this.matchers.set(glob, (matcher = globToRegExp(glob)));
    }
    return matcher;
  }

  /** Remembers one; past the limit, everything is folded into one clear of the namespace. */
  add(invalidation: InvalidationEvent): void {
    if (this.folded) return; // the clear still to come removes it too
    if (invalidation.kind === 'clear' && invalidation.prefix === this.prefix)
      return this.fold(false);
    if (invalidation.kind === 'keys') for (const key of invalidation.keys) this.keys.add(key);
    else this.others.push(invalidation);
    if (this.keys.size + this.others.length > this.max) this.fold();
  }

  /** Everything waiting or being replayed, as invalidations (keys in one). */
  waiting(): InvalidationEvent[] {
    if (this.folded) return [{ kind: 'clear', prefix: this.prefix }];
    const out: InvalidationEvent[] = [...this.others];
    if (this.keys.size > 0) out.push({ kind: 'keys', keys: [...this.keys] });
    if (this.inFlight !== undefined) out.push(this.inFlight);
    return out;
  }

  /** Takes the next invalidation to replay (keys in batches); undefined when none waits or one is in flight. */
  take(): InvalidationEvent | undefined {
    if (this.inFlight !== undefined) return undefined;
    if (this.folded) {
      this.folded = false;
      this.inFlight = { kind: 'clear', prefix: this.prefix };
    } else if (this.keys.size !== 0) {
      const keys: string[] = [];
      for (const key of this.keys) {
        keys.push(key);
        if (keys.length === REPLAY_KEY_BATCH) break;
      }
      for (const key of keys) this.keys.delete(key);
      this.inFlight = { kind: 'keys', keys };
    } else {
      this.inFlight = this.others.shift();
    }
    return this.inFlight;
  }

  /** Ends the replay of what {@link take} returned: dropped once applied, kept for the next attempt if not. */
  settle(applied: boolean): void {
    const taken = this.inFlight;
    this.inFlight = undefined;
    if (taken === undefined || applied) return;
    if (taken.kind === 'clear' && taken.prefix === this.prefix) this.fold(false);
    else if (taken.kind === 'keys') this.add(taken);
    else if (!this.folded) this.others.unshift(taken);
  }

  /** Replaces everything waiting by one clear of the namespace (`counted`: a new overflow). */
  private fold(counted = true): void {
    if (counted && !this.folded) this.folds++;
    this.folded = true;
    this.keys.clear();
    this.others = [];
  }
}
