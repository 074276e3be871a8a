/**
 * Runs one computation per key at a time in this process: concurrent callers of the same key
 * share the first caller's promise. The key is released as soon as the promise settles.
 */
export class SingleFlight {
  private readonly inflight = new Map<string, Promise<unknown>>();

  /** Joins the running computation of `key`, or starts `run` if there is none. */
  run<T>(key: string, run: () => Promise<T>): Promise<T> {
    const running = this.inflight.get(key);
    if (running !== undefined) return running as Promise<T>;
    const promise = run().finally(() => {
      if (this.inflight.get(key) === promise) this.inflight.delete(key);
    });
    this.inflight.set(key, promise);
    return promise;
  }

  /** Number of computations in progress. */
  get size(): number {
    return this.inflight.size;
  }
}
