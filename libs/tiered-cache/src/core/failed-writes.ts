import { startDeadline } from './deadline.js';

/** How long a write that missed its deadline is waited for before the delete that follows it, in ms. */
export const LATE_WRITE_MS = 60_000;

/** What {@link FailedWrites} does to the tier. */
export interface FailedWritesOptions {
  /**
   * Deletes the key now, even while the circuit breaker is open, under the tier's deadline;
   * resolves to whether it was deleted (never rejects).
   */
  readonly remove: (key: string) => Promise<boolean>;
  /** Records the key as a missed invalidation, replayed before the tier serves reads again. */
  readonly missed: (key: string) => void;
}

/**
 * The follow-ups of the writes a tier could not make (issue: failed overwrites revert). A tier that
 * could not store a new value must stop serving the old one, so it deletes the key at once; when
 * the write missed its deadline it may still land (it is on its way to the store, or a multi-step
 * write such as tags-then-SET or temp-file-then-rename is half done), so the key is deleted again
 * once that write has landed or failed. Both deletes go to the same backend right behind the write
 * (on Redis, on the same connection: executed after it), even while the breaker is open: they
 * follow calls that were made, so they are as bounded as the writes that were sent. A delete that
 * cannot be made is recorded as a missed invalidation. Until its follow-up is over, the key is a
 * miss in that tier.
 *
 * What remains: a write that missed its deadline is visible in the store from the moment it lands
 * until the delete behind it lands. For a one-command write (a plain Redis SET) that delete was
 * sent at the deadline right behind it, so it is the next command of that connection; for a
 * multi-step write, the second delete lands about one round trip after the last step. Meanwhile
 * the late value may overwrite a newer one written by another process, which is then deleted
 * too: a miss, never a lasting old value.
 */
export class FailedWrites {
  /** Keys whose follow-up is not over, with how many follow-ups each. */
  private readonly unsettled = new Map<string, number>();
  private readonly running = new Set<Promise<void>>();
  /** Ends the waits for late writes. */
  private readonly waits = new Set<() => void>();
  private closed = false;

  constructor(private readonly options: FailedWritesOptions) {}

  /** True while the key's failed write is being followed up (a miss in the tier meanwhile). */
  has(key: string): boolean {
    return this.unsettled.size !== 0 && this.unsettled.has(key);
  }

  /**
   * Follows up a write of `key` that failed or was refused (`late` undefined: nothing of it can land
   * any more) or that missed its deadline (`late`: the write itself, which may still land).
   */
  forget(key: string, late: Promise<unknown> | undefined): void {
    this.unsettled.set(key, (this.unsettled.get(key) ?? 0) + 1);
    const followUp = this.followUp(key, late).finally(() => {
      const left = this.unsettled.get(key)! - 1;
      if (left === 0) this.unsettled.delete(key);
      else this.unsettled.set(key, left);
      this.running.delete(followUp);
    });
    this.running.add(followUp);
  }

  /** Resolves once no follow-up runs. */
  async idle(): Promise<void> {
    while (this.running.size !== 0) await Promise.all(this.running);
  }

  /** Stops waiting for late writes (their second delete is not made: the backend is closing). */
  close(): void {
    this.closed = true;
    for (const stopWaiting of [...this.waits]) stopWaiting();
  }

  private async followUp(key: string, late: Promise<unknown> | undefined): Promise<void> {
    if (!(await this.options.remove(key))) this.options.missed(key);
    if (late === undefined) return;
    await this.landed(late);
    if (this.closed) return;
    if (!(await this.options.remove(key))) this.options.missed(key);
  }

  /** Resolves once a late write settled, after {@link LATE_WRITE_MS}, or on close. */
  private landed(late: Promise<unknown>): Promise<void> {
    return new Promise<void>((resolve) => {
      const end = () => {
        this.waits.delete(settled);
        resolve();
      };
      const deadline = startDeadline(LATE_WRITE_MS, end);
      const settled = () => {
        if (deadline.finish()) end();
      };
      this.waits.add(settled);
      late.then(settled, settled);
    });
  }
}
