/** Keys tracked one by one before the tracker forgets them all and moves its floor up. */
export const MAX_TRACKED_KEYS = 4_096;

/** When a key last began or ended a change, when one last ended, and how many are running. */
interface KeyChange {
  epoch: number;
  ended: number;
  running: number;
}

/**
 * What changed in the cache since a moment: the guard against resurrection. A read that goes to
 * L2, or a computation on a miss, takes a {@link ticket} when it begins; before it puts what it
 * found or computed into a tier it asks {@link unchangedSince}. The answer is no when, since the
 * ticket, a change of that key (a write, a delete, or a remote eviction of it) or a broad
 * invalidation (pattern, tag, clear, an L1 drop after a bus gap) began or ended, or when one is
 * still running: a change that began before the ticket but was still doing its L2 round trips is
 * caught by its running count, one that ended during the read by its end epoch. An answer of no
 * only costs a missed backfill or an unstored value (the next read goes to L2 again); a wrong yes
 * would put an invalidated value back, so every doubt answers no.
 *
 * A computation in flight may be joined by a later request only while no change that concerns its
 * key has ended since it began ({@link noneEndedSince}): a request that starts after an
 * invalidation completed never gets a value computed before it.
 *
 * One counter orders everything. Keys are tracked one by one, bounded: past
 * {@link MAX_TRACKED_KEYS} the idle ones are forgotten and the floor moves up to now, so that every
 * ticket taken before that answers no.
 */
export class Changes {
  private epoch = 0;
  private floor = 0;
  private broadEpoch = 0;
  private broadEnded = 0;
  private broadRunning = 0;
  private readonly keys = new Map<string, KeyChange>();

  constructor(private readonly maxKeys = MAX_TRACKED_KEYS) {}

  /** The moment now, to compare against later. */
  ticket(): number {
    return this.epoch;
  }

  /** True when nothing that could concern `key` began, ended or is running since `ticket`. */
  unchangedSince(key: string, ticket: number): boolean {
    if (this.broadRunning !== 0 || this.broadEpoch > ticket || this.floor > ticket) return false;
    const change = this.keys.get(key);
    return change === undefined || (change.running === 0 && change.epoch <= ticket);
  }

  /** True when no change that could concern `key` has ended since `ticket` (running ones aside). */
  noneEndedSince(key: string, ticket: number): boolean {
    if (this.broadEnded > ticket || this.floor > ticket) return false;
    const change = this.keys.get(key);
    return change === undefined || change.ended <= ticket;
  }

  /** A change of these keys begins; call the returned function once it has ended (or failed). */
  beginKeys(keys: readonly string[]): () => void {
    const epoch = ++this.epoch;
    for (const key of keys) {
      const change = this.keys.get(key);
      if (change === undefined) this.keys.set(key, { epoch, ended: 0, running: 1 });
      else {
        change.epoch = epoch;
        change.running++;
      }
    }
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const end = ++this.epoch;
      for (const key of keys) {
        const change = this.keys.get(key);
        if (change === undefined) continue; // cannot happen: a running key is never forgotten
        change.epoch = end;
        change.ended = end;
        change.running--;
      }
      if (this.keys.size > this.maxKeys) this.forgetIdle();
    };
  }

  /** A change that may concern any key begins (pattern, tags, clear, L1 drop); call the result when it ends. */
  beginBroad(): () => void {
    this.broadEpoch = ++this.epoch;
    this.broadRunning++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.broadEpoch = this.broadEnded = ++this.epoch;
      this.broadRunning--;
    };
  }

  /** Keys tracked one by one (for tests). */
  get tracked(): number {
    return this.keys.size;
  }

  /** Forgets every key with no change running; every ticket older than now then answers no. */
  private forgetIdle(): void {
    this.floor = ++this.epoch;
    for (const [key, change] of this.keys) if (change.running === 0) this.keys.delete(key);
  }
}
