import { clearTimeout, setTimeout } from 'node:timers';

/** Most reads that share one reading of the clock, however busy the event loop is. */
export const READS_PER_CLOCK_READ = 64;
/** How long a reading of the clock is shared while the event loop turns, in ms. */
export const CLOCK_READ_SHARED_MS = 1;

/** The clock cache reads judge freshness by. */
export interface ReadClock {
  readonly now: () => number;
  stop(): void;
}

/**
 * The time cache reads judge freshness by, when the cache runs on the default clock. `Date.now()`
 * is a call into the runtime: 40 to 60 ns here, a fifth of an L1 hit. So one reading is shared by
 * the reads that follow it until a timer of {@link CLOCK_READ_SHARED_MS} fires, and by at most
 * {@link READS_PER_CLOCK_READ} of them. This is lru-cache's `ttlResolution` (1 ms by default),
 * with a bound on reads added for an event loop that does not turn.
 *
 * A reading is never ahead of the clock, only behind it: an entry may be served past its expiry
 * for as long as the reading is shared, never judged expired early. Writes, TTLs and every other
 * use of the clock read it each time. The timer is Node's own (`node:timers`), so fake timers
 * installed by a test neither stop nor advance it; and a cache given its own `clock` reads it on
 * every read instead (see `readClockOf`).
 */
export class SharedClockReading implements ReadClock {
  private time = 0;
  private reads = READS_PER_CLOCK_READ;
  private cancel: (() => void) | undefined;
  private readonly expire = (): void => {
    this.cancel = undefined;
    this.reads = READS_PER_CLOCK_READ;
  };

  constructor(
    private readonly clock: () => number,
    /** Calls `fn` in `ms` (Node's own unref'd timer); returns what cancels it. */
    private readonly after: (fn: () => void, ms: number) => () => void = unrefTimer,
  ) {}

  /** The current reading, or a fresh one when it was shared long enough. */
  readonly now = (): number => {
    if (++this.reads <= READS_PER_CLOCK_READ) return this.time;
    this.reads = 1;
    this.time = this.clock();
    this.cancel ??= this.after(this.expire, CLOCK_READ_SHARED_MS);
    return this.time;
  };

  /** Stops sharing: the next read asks the clock (the engine closed). */
  stop(): void {
    this.cancel?.();
    this.expire();
  }
}

function unrefTimer(fn: () => void, ms: number): () => void {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return () => clearTimeout(timer);
}

/** True when `now` is the runtime's own `Date.now` (not one a fake-timers library put in its place). */
function isNativeDateNow(now: () => number): boolean {
  return (
    now === Date.now && /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(now))
  );
}

/**
 * The clock cache reads judge freshness by: with `share` (the cache runs on the default clock) and
 * `clock` the runtime's own `Date.now`, a {@link SharedClockReading} of it; otherwise `clock`
 * itself, read on every read (a test's fake clock, or an application's).
 */
export function readClockOf(clock: () => number, share: boolean): ReadClock {
  if (share && isNativeDateNow(clock)) return new SharedClockReading(clock);
  return { now: clock, stop: () => undefined };
}
