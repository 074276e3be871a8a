import { CacheError, CacheErrorCode } from '../cache.errors.js';

/** Timer lateness below this (ms) is ordinary jitter, never a stall (see `DeadlineQueue.fire`). */
const STALL_MIN_MS = 10;

/** One call waiting on its deadline (also the handle its caller finishes it with). */
class Pending implements Deadline {
  settled = false;

  constructor(
    /** performance.now() at which it times out. */
    readonly at: number,
    readonly expire: () => void,
    private readonly queue: DeadlineQueue,
  ) {}

  finish(): boolean {
    if (this.settled) return false;
    this.queue.settle(this);
    return true;
  }
}

/**
 * The deadlines of one duration. Calls with the same duration expire in the order they started,
 * so they can share one timer armed for the oldest unsettled call: a hot path (thousands of Redis
 * reads a second under a tier's deadline) then costs no timer per call. Settled calls are dropped
 * from the front as soon as they get there, so the queue holds about the calls in flight.
 */
class DeadlineQueue {
  private queue: Pending[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  /** performance.now() at which the timer is due. */
  private timerDueAt = 0;

  constructor(private readonly ms: number) {}

  add(expire: () => void): Pending {
    const pending = new Pending(performance.now() + this.ms, expire, this);
    this.queue.push(pending);
    if (this.timer === undefined) this.arm(this.ms);
    return pending;
  }

  settle(pending: Pending): void {
    pending.settled = true;
    if (this.queue[this.head] === pending) this.dropSettled();
  }

  private arm(ms: number): void {
    const delay = Math.max(1, Math.ceil(ms));
    this.timerDueAt = performance.now() + delay;
    this.timer = setTimeout(this.fire, delay);
    this.timer.unref();
  }

  /**
   * The timer fired. A deadline judges the other side (Redis, a disk), not this process, so:
   *
   * - the calls due are expired after the I/O already waiting has been read (`setImmediate` runs
   *   after the event loop's poll phase): after a stall of this process (CPU starvation, a long
   *   synchronous task, a GC pause), timers run before sockets are read, and an answer that
   *   arrived in time, sitting in a socket buffer, would count as late (a Redis write that
   *   succeeded reported as failed, a bus message Redis already delivered reported as not sent);
   * - when the timer itself fired late by more than a quarter of the duration (this process was
   *   stalled, perhaps before it even sent the command), the calls due get the stall's length
   *   again, once and at most one duration more, so that the other side gets the time it was owed.
   *
   * A hung backend is still detected: after at most two durations when this process stalls.
   */
  private readonly fire = (): void => {
    this.timer = undefined;
    const now = performance.now();
    const late = now - this.timerDueAt;
    const due: Pending[] = [];
    while (this.head < this.queue.length) {
      const pending = this.queue[this.head]!;
      if (!pending.settled) {
        if (pending.at > now) break;
        due.push(pending);
      }
      this.head++;
    }
    this.compact();
    if (this.head < this.queue.length) this.arm(this.queue[this.head]!.at - now);
    if (due.length === 0) return;
    if (late <= Math.max(STALL_MIN_MS, this.ms / 4)) {
      setImmediate(expireUnsettled, due);
      return;
    }
    const grace = setTimeout(
      () => setImmediate(expireUnsettled, due),
      Math.ceil(Math.min(late, this.ms)),
    );
    grace.unref();
  };

  private dropSettled(): void {
    while (this.head < this.queue.length && this.queue[this.head]!.settled) this.head++;
    this.compact();
    if (this.head === this.queue.length && this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}

/** Expires the calls of `due` that did not settle meanwhile. */
function expireUnsettled(due: readonly Pending[]): void {
  for (const pending of due) {
    if (pending.settled) continue;
    pending.settled = true;
    pending.expire();
  }
}

const queues = new Map<number, DeadlineQueue>();

/** A call under a deadline: `finish()` when it settles; false means the deadline already passed. */
export interface Deadline {
  finish(): boolean;
}

/**
 * Calls `expire` after `ms` unless the returned deadline is finished first (an answer that had
 * arrived by then, waiting to be read, still finishes it: see `DeadlineQueue.fire`). No timer
 * keeps the process alive, and deadlines of the same duration share one timer.
 */
export function startDeadline(ms: number, expire: () => void): Deadline {
  let queue = queues.get(ms);
  if (queue === undefined) queues.set(ms, (queue = new DeadlineQueue(ms)));
  return queue.add(expire);
}

/** The error of a call that missed its deadline. */
export function timeoutError(what: string, ms: number): CacheError {
  return new CacheError(CacheErrorCode.E_BACKEND_TIMEOUT, `${what} did not finish within ${ms} ms`);
}

/**
 * Settles like `promise`, or rejects with `E_BACKEND_TIMEOUT` after `ms`. The late result is
 * dropped (and a late rejection swallowed), so a hung backend can never stall or crash a caller.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const deadline = startDeadline(ms, () => reject(timeoutError(what, ms)));
    promise.then(
      (value) => {
        if (deadline.finish()) resolve(value);
      },
      (err: unknown) => {
        if (deadline.finish()) reject(err);
      },
    );
  });
}
