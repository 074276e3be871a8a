import type { InvalidationEvent } from './invalidation.js';

/** How long a change to a shared store is remembered, in ms. */
export const RECENT_CHANGES_MS = 5_000;
/** Most changes remembered (keys count one each); past it, a failover clears the namespace. */
export const MAX_RECENT_CHANGES = 10_000;

/**
 * The writes and invalidations a tier made on its shared store in the last few seconds, for when
 * the store turns out to be another server (a failover): Redis replicates asynchronously, so what
 * the old master acknowledged last may never have reached the replica that took over (a crash
 * right after the reply; after `SENTINEL FAILOVER`, writes that reached the old master in the
 * second before the clients switched), and a lost delete or overwrite would bring an old value
 * back. After such a change the tier replays them all as missed invalidations: deleting a key
 * again, or a key written recently, costs at most a miss, never an old value.
 *
 * Bounded: past {@link MAX_RECENT_CHANGES} within {@link RECENT_CHANGES_MS}, it only remembers
 * that it overflowed, and a failover then clears the namespace (`<namespace>:`) in that store.
 */
export class RecentChanges {
  /** In the order they were made; entries before `head` are forgotten. */
  private changes: { at: number; change: string | InvalidationEvent }[] = [];
  private head = 0;
  private overflowedAt = -Infinity;

  constructor(
    private readonly prefix: string,
    private readonly clock: () => number,
    private readonly windowMs = RECENT_CHANGES_MS,
    private readonly max = MAX_RECENT_CHANGES,
  ) {}

  /** Remembers a key written or deleted. */
  key(key: string): void {
    this.push(key);
  }

  /** Remembers an invalidation (keys are remembered one by one). */
  invalidation(invalidation: InvalidationEvent): void {
    if (invalidation.kind === 'keys') for (const key of invalidation.keys) this.push(key);
    else this.push(invalidation);
  }

  /** What to replay after the store changed: the recent changes, as invalidations. */
  drain(): InvalidationEvent[] {
    this.forgetOld();
    const recent = this.changes.slice(this.head);
    const overflowed = this.overflowedAt >= this.clock() - this.windowMs;
    this.changes = [];
    this.head = 0;
    this.overflowedAt = -Infinity;
    if (overflowed) return [{ kind: 'clear', prefix: this.prefix }];
    const keys = new Set<string>();
    const others: InvalidationEvent[] = [];
    for (const { change } of recent)
      if (typeof change === 'string') keys.add(change);
      else others.push(change);
    return keys.size > 0 ? [{ kind: 'keys', keys: [...keys] }, ...others] : others;
  }

  private push(change: string | InvalidationEvent): void {
    if (this.overflowedAt >= this.clock() - this.windowMs) return; // a clear covers it
    this.changes.push({ at: this.clock(), change });
    if (this.changes.length - this.head <= this.max) return;
    this.forgetOld();
    if (this.changes.length - this.head <= this.max) return;
    this.overflowedAt = this.clock();
    this.changes = [];
    this.head = 0;
  }

  /** Drops what is older than the window (changes are in time order). */
  private forgetOld(): void {
    const since = this.clock() - this.windowMs;
    while (this.head < this.changes.length && this.changes[this.head]!.at < since) this.head++;
    if (this.head > 1024 && this.head * 2 > this.changes.length) {
      this.changes = this.changes.slice(this.head);
      this.head = 0;
    }
  }
}
