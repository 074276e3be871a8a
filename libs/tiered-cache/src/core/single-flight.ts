import type { Changes } from './changes.js';

/** A computation in progress and the moment it began. */
interface Flight {
  readonly promise: Promise<unknown>;
  readonly ticket: number;
}

/**
 * Runs one computation per key at a time in this process: concurrent callers of the same key
 * share the first caller's promise, unless a change of that key (a write, an invalidation) has
 * ended since that computation began: a later caller then starts a new one, which replaces it, so
 * a request that starts after an invalidation completed never gets a value computed before it.
 * The key is released as soon as its current computation settles.
 */
export class SingleFlight {
  private readonly inflight = new Map<string, Flight>();

  constructor(private readonly changes: Changes) {}

  /**
   * Joins the running computation of `key`, or starts `run` with the ticket of the moment it
   * begins (to check before storing what it computed).
   */
  run<T>(key: string, run: (ticket: number) => Promise<T>): Promise<T> {
    const running = this.inflight.get(key);
    if (running !== undefined && this.changes.noneEndedSince(key, running.ticket))
      return running.promise as Promise<T>;
    const ticket = this.changes.ticket();
    const promise = run(ticket).finally(() => {
      if (this.inflight.get(key)?.promise === promise) this.inflight.delete(key);
    });
    this.inflight.set(key, { promise, ticket });
    return promise;
  }

  /** Number of computations in progress. */
  get size(): number {
    return this.inflight.size;
  }
}
