import type { InvalidationEvent } from './invalidation.js';

/** How many missed invalidations a tier remembers; past that it clears its whole namespace instead. */
export const MAX_MISSED_INVALIDATIONS = 1_000;

/**
 * The invalidations a tier could not apply (it failed, timed out or was skipped by the open
 * circuit breaker), oldest first. Until they are replayed the tier must not serve reads: it may
 * still hold the very entries they were meant to remove. Deletions commute with one another, so
 * replaying them late and in order is enough; one beyond the limit turns the queue into a single
 * clear of the namespace, which removes everything they could have.
 */
export class MissedInvalidations {
  private queue: InvalidationEvent[] = [];

  /**
   * @param prefix The namespace prefix of every key of the engine (`<namespace>:`), cleared on overflow.
   * @param max How many invalidations are remembered one by one.
   */
  constructor(
    private readonly prefix: string,
    private readonly max = MAX_MISSED_INVALIDATIONS,
  ) {}

  /** How many are waiting (0 on the hot path: one comparison). */
  get size(): number {
    return this.queue.length;
  }

  /** Remembers one; past the limit, everything is folded into one clear of the namespace. */
  add(invalidation: InvalidationEvent): void {
    const first = this.queue[0];
    if (first !== undefined && first.kind === 'clear' && first.prefix === this.prefix) return; // already clearing it all
    if (this.queue.length >= this.max) {
      this.queue = [{ kind: 'clear', prefix: this.prefix }];
      return;
    }
    this.queue.push(invalidation);
  }

  /** The oldest waiting invalidation. */
  peek(): InvalidationEvent | undefined {
    return this.queue[0];
  }

  /** Drops `applied` once replayed, if it is still the oldest (an overflow may have replaced the queue meanwhile). */
  done(applied: InvalidationEvent): void {
    if (this.queue[0] === applied) this.queue.shift();
  }
}
