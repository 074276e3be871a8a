import type { InvalidationEvent } from './invalidation.js';
import { MissedInvalidations } from './missed-invalidations.js';

/** Delay before the first attempt to replay missed invalidations, in ms; doubled after each failed attempt. */
export const REPLAY_FIRST_DELAY_MS = 250;

/** Options of {@link MissedReplay}. */
export interface MissedReplayOptions {
  /** The namespace prefix (`<namespace>:`), cleared when too many invalidations were missed. */
  readonly prefix: string;
  /** Longest delay between two attempts, in ms (the tier's circuit breaker open time). */
  readonly maxDelayMs: number;
  /** Applies one invalidation to the tier; resolves to whether it was applied (never rejects). */
  readonly apply: (invalidation: InvalidationEvent) => Promise<boolean>;
  /** Told about each invalidation once it has been replayed (must not throw). */
  readonly replayed: (invalidation: InvalidationEvent) => void;
  /** Told when a replay emptied the queue, with how many invalidations that replay applied. */
  readonly emptied?: (count: number) => void;
  /**
   * Told, after each attempt that left invalidations waiting, what still waits (must not throw): the
   * engine tells the other instances again, since one whose bus subscription had a gap when they
   * were first told cannot know of them otherwise.
   */
  readonly stillMissed?: (waiting: InvalidationEvent[]) => void;
  /** Told when the queue overflowed and was folded into one clear of the namespace. */
  readonly overflowed?: () => void;
  /** Delay before the first attempt, in ms. Default {@link REPLAY_FIRST_DELAY_MS}. */
  readonly firstDelayMs?: number;
  /** Bound of the queue (see {@link MissedInvalidations}). */
  readonly max?: number;
}

/**
 * The invalidations a tier missed, and their replay as soon as the tier is reachable again, read
 * or no read: once the queue is non-empty an unref'd timer tries to replay it, first after
 * `firstDelayMs`, then with a delay doubled after every failed attempt up to `maxDelayMs` (the
 * breaker's open time, after which the breaker lets a trial call through). An attempt replays
 * everything in order and stops at the first invalidation that fails again. No timer is left once
 * the queue is empty or after {@link stop}.
 */
export class MissedReplay {
  private readonly queue: MissedInvalidations;
  private readonly firstDelayMs: number;
  private delayMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** `queue.size !== 0`, kept up to date: read by every read of the tier. */
  private waiting = false;

  constructor(private readonly options: MissedReplayOptions) {
    this.queue = new MissedInvalidations(options.prefix, options.max);
    this.firstDelayMs = options.firstDelayMs ?? REPLAY_FIRST_DELAY_MS;
    this.delayMs = this.firstDelayMs;
  }

  /** True while invalidations wait or are being replayed (see {@link blocks}). */
  get pending(): boolean {
    return this.waiting;
  }

  /**
   * Whether a waiting invalidation may remove `key` (the tier must not serve it): true, false, or
   * the tags that decide once the entry's tags are known. Only worth asking while {@link pending}.
   */
  blocks(key: string): boolean | ReadonlySet<string> {
    return this.waiting ? this.queue.blocks(key) : false;
  }

  /** How many keys and invalidations wait, the one being replayed included. */
  get size(): number {
    return this.queue.size;
  }

  /** The delay of the next scheduled attempt, in ms. */
  get nextDelayMs(): number {
    return this.delayMs;
  }

  /** Remembers an invalidation the tier could not apply and makes sure an attempt is scheduled. */
  add(invalidation: InvalidationEvent): void {
    if (this.stopped) return;
    const folds = this.queue.folds;
    this.queue.add(invalidation);
    this.waiting = this.queue.size !== 0;
    if (this.queue.folds !== folds) this.options.overflowed?.();
    this.schedule();
  }

  /** Attempts a replay now, unless one is running (a read found the tier closed by missed invalidations). */
  now(): void {
    if (this.stopped || this.running !== undefined || !this.pending) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.run();
  }

  /** Resolves once no replay is running. */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  /**
   * One last attempt before the tier closes (the queue lives in this process only): replays now,
   * or lets the replay in progress finish, then schedules nothing more. Resolves to how many keys
   * and invalidations still wait: they are lost with the process.
   */
  async last(): Promise<number> {
    this.now();
    await this.idle();
    this.stop();
    return this.queue.size;
  }

  /** Schedules nothing more; a replay in progress stops after the invalidation it is applying. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.stopped || this.timer !== undefined || this.running !== undefined || !this.pending)
      return;
    this.timer = setTimeout(this.fire, this.delayMs);
    this.timer.unref();
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    if (!this.stopped && this.running === undefined) this.run();
  };

  private run(): void {
    this.running = this.replay()
      .catch(() => false)
      .then((complete) => {
        this.running = undefined;
        if (!complete && !this.stopped && this.queue.size !== 0)
          this.options.stillMissed?.(this.queue.waiting());
        this.delayMs = complete
          ? this.firstDelayMs
          : Math.min(this.delayMs * 2, Math.max(this.options.maxDelayMs, this.firstDelayMs));
        this.schedule();
      });
  }

  /** Replays until the queue is empty (true) or an invalidation fails again (false). */
  private async replay(): Promise<boolean> {
    let count = 0;
    for (let next = this.queue.take(); next !== undefined; next = this.queue.take()) {
      const applied = await this.options.apply(next).catch(() => false);
      this.queue.settle(applied);
      this.waiting = this.queue.size !== 0;
      if (!applied) return false;
      count++;
      this.options.replayed(next);
      if (this.stopped) return false;
    }
    if (count > 0) this.options.emptied?.(count);
    return true;
  }
}
