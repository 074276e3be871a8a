import { itemSize, type BusInvalidation } from './bus-message.js';

/** At most this many keys or tags per message, and about this many bytes of them. */
const MAX_ITEMS_PER_MESSAGE = 1000;
const MAX_BYTES_PER_MESSAGE = 32 * 1024;
/** First and longest wait before retrying after a failed publish, in ms. */
const RETRY_MIN_MS = 25;
const RETRY_MAX_MS = 1000;

/** Settings of a {@link PublishQueue}. */
export interface PublishQueueOptions {
  /** Most invalidation items (keys, tags, globs, prefixes) held; beyond it the queue folds. */
  readonly maxQueued: number;
  /** `<namespace>:` — the clear that replaces everything when the queue overflows. */
  readonly clearPrefix: string;
  /** Publishes one message; rejects when it was not (or not in time) accepted by Redis. */
  readonly send: (invalidation: BusInvalidation) => Promise<void>;
  /** Told about each failed publish (for logging; the message is retried). */
  readonly onFailure: (err: unknown) => void;
}

/** Counters of a {@link PublishQueue}. */
export interface PublishQueueStats {
  /** Messages Redis accepted. */
  sent: number;
  /** Publish attempts that failed or timed out (their messages were queued again). */
  failures: number;
  /** Times the queue was full and was folded into one clear of the namespace. */
  overflows: number;
}

/**
 * The outgoing side of the bus. Invalidations given in one tick are merged (deduplicated, keys
 * batched) and published on the next; a failed message goes back into the queue and is retried
 * with a capped backoff. Evictions commute, so order does not matter and merging is safe. The
 * queue never holds more than `maxQueued` items: when it would, everything in it is replaced by
 * one clear of the namespace (every instance then drops its L1 for it: costly, but never stale).
 */
export class PublishQueue {
  readonly stats: PublishQueueStats = { sent: 0, failures: 0, overflows: 0 };
  private pending: BusInvalidation[] = [];
  /**
   * The first attempt at publishing what was added since the last flush: one promise shared by
   * every caller of that batch (a write path adds one invalidation per write).
   */
  private attempt: { promise: Promise<void>; resolve: () => void } | undefined;
  private pendingItems = 0;
  private inFlightItems = 0;
  private flushScheduled: NodeJS.Immediate | undefined;
  private tickFlushScheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private consecutiveFailures = 0;
  private folded = false;
  /** Bumped by each fold: messages in flight before it are covered by the clear. */
  private generation = 0;
  private closed = false;

  constructor(private readonly options: PublishQueueOptions) {}

  /** Items waiting or being published. */
  get size(): number {
    return this.pendingItems + this.inFlightItems;
  }

  /**
   * Queues an invalidation for the next tick. Synchronous, never throws. Resolves once the first
   * attempt at publishing it has succeeded or failed (a failed one is retried in the background).
   *
   * With `thisTick`, it is published at the end of this tick instead (`process.nextTick`, merged
   * with the others added until then): a command the caller sends right after this call, in the
   * same synchronous run, is sent before the message, and in the same ioredis auto-pipeline when
   * it has one (see `InvalidationBus.publishBehindWrite`).
   */
  add(invalidation: BusInvalidation, thisTick = false): Promise<void> {
    let attempt = this.attempt;
    if (attempt === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.attempt = attempt = { promise, resolve };
    }
    this.enqueue(invalidation, thisTick);
    return attempt.promise;
  }

  private enqueue(invalidation: BusInvalidation, thisTick: boolean): void {
    if (this.closed) return this.release();
    if (this.folded) return this.schedule(thisTick); // a pending clear of the namespace covers everything
    const items = countItems(invalidation);
    const rootClear = this.isRootClear(invalidation);
    if (rootClear || this.size + items > this.options.maxQueued) {
      if (!rootClear) this.stats.overflows++;
      this.foldIntoClear();
    } else {
      this.pending.push(invalidation);
      this.pendingItems += items;
    }
    this.schedule(thisTick);
  }

  /** Retries now instead of waiting for the backoff (the connection just became ready). */
  retryNow(): void {
    if (this.retryTimer === undefined) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.schedule();
  }

  /** Publishes what is queued once more (bounded by `send`'s own deadline), then stops. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.flushScheduled !== undefined) clearImmediate(this.flushScheduled);
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.flushScheduled = this.retryTimer = undefined;
    await this.flush();
    this.release();
  }

  /** Flushes on the next tick, or with `thisTick` at the end of this one; not while backing off. */
  private schedule(thisTick = false): void {
    if (this.retryTimer !== undefined || this.closed) return;
    if (thisTick) {
      if (this.tickFlushScheduled) return;
      this.tickFlushScheduled = true;
      process.nextTick(() => {
        this.tickFlushScheduled = false;
        void this.flush();
      });
      return;
    }
    if (this.flushScheduled !== undefined) return;
    this.flushScheduled = setImmediate(() => {
      this.flushScheduled = undefined;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const attempt = this.attempt;
    this.attempt = undefined;
    try {
      await this.publishPending();
    } finally {
      attempt?.resolve();
    }
  }

  /** Resolves every caller still waiting. */
  private release(): void {
    const attempt = this.attempt;
    this.attempt = undefined;
    attempt?.resolve();
  }

  private async publishPending(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    const batchItems = this.pendingItems;
    this.pending = [];
    this.pendingItems = 0;
    this.folded = false;
    this.inFlightItems += batchItems;
    const generation = this.generation;
    const failed: BusInvalidation[] = [];
    await Promise.all(
      merge(batch, this.options.clearPrefix).map(async (message) => {
        try {
          await this.options.send(message);
          this.stats.sent++;
          this.consecutiveFailures = 0;
        } catch (err) {
          this.stats.failures++;
          this.consecutiveFailures++;
          this.options.onFailure(err);
          failed.push(message);
        }
      }),
    );
    if (generation !== this.generation) return; // folded meanwhile: the clear covers this batch
    this.inFlightItems -= batchItems;
    for (const message of failed) this.requeue(message);
    if (this.pending.length === 0) return;
    if (failed.length > 0) this.backoff();
    else this.schedule();
  }

  /** Puts a message that failed back, or folds the queue when there is no room for it. */
  private requeue(message: BusInvalidation): void {
    if (this.closed || this.folded) return;
    const items = countItems(message);
    const rootClear = this.isRootClear(message);
    if (rootClear || this.size + items > this.options.maxQueued) {
      if (!rootClear) this.stats.overflows++;
      this.foldIntoClear();
      return;
    }
    this.pending.push(message);
    this.pendingItems += items;
  }

  private isRootClear(invalidation: BusInvalidation): boolean {
    return invalidation.kind === 'clear' && invalidation.prefix === this.options.clearPrefix;
  }

  /** Replaces everything waiting by one clear of the namespace, which covers it all. */
  private foldIntoClear(): void {
    this.folded = true;
    this.generation++;
    this.inFlightItems = 0;
    this.pending = [{ kind: 'clear', prefix: this.options.clearPrefix }];
    this.pendingItems = 1;
  }

  private backoff(): void {
    if (this.retryTimer !== undefined || this.closed) return;
    const exponent = Math.min(this.consecutiveFailures - 1, 10);
    const delay = Math.min(RETRY_MIN_MS * 2 ** exponent, RETRY_MAX_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.schedule();
    }, delay);
    this.retryTimer.unref();
  }
}

function countItems(invalidation: BusInvalidation): number {
  if (invalidation.kind === 'keys') return invalidation.keys.length;
  if (invalidation.kind === 'tags') return invalidation.tags.length;
  return 1;
}

/**
 * Merges a batch into few messages: keys and tags deduplicated and chunked, globs and prefixes
 * deduplicated; a clear of the whole namespace makes everything else redundant. `sharedMissed`
 * invalidations are merged apart and keep their flag. (When the queue folds into one clear of the
 * namespace, the flag is lost: the receivers drop their L1 but do not wait for Redis.)
 */
export function merge(batch: readonly BusInvalidation[], rootPrefix: string): BusInvalidation[] {
  if (!batch.some(isSharedMissed)) return mergeGroup(batch, rootPrefix);
  const missed = batch.filter(isSharedMissed);
  const plain = batch.filter((invalidation) => !isSharedMissed(invalidation));
  return [
    ...mergeGroup(plain, rootPrefix),
    ...mergeGroup(missed, rootPrefix).map((m) => ({ ...m, sharedMissed: true })),
  ];
}

const isSharedMissed = (invalidation: BusInvalidation): boolean =>
  invalidation.sharedMissed === true;

function mergeGroup(batch: readonly BusInvalidation[], rootPrefix: string): BusInvalidation[] {
  const keys = new Set<string>();
  const tags = new Set<string>();
  const globs = new Set<string>();
  const prefixes = new Set<string>();
  for (const invalidation of batch) {
    if (invalidation.kind === 'keys') for (const key of invalidation.keys) keys.add(key);
    else if (invalidation.kind === 'tags') for (const tag of invalidation.tags) tags.add(tag);
    else if (invalidation.kind === 'pattern') globs.add(invalidation.glob);
    else prefixes.add(invalidation.prefix);
  }
  if (prefixes.has(rootPrefix)) return [{ kind: 'clear', prefix: rootPrefix }];
  const out: BusInvalidation[] = [];
  for (const chunk of chunks([...keys])) out.push({ kind: 'keys', keys: chunk });
  for (const chunk of chunks([...tags])) out.push({ kind: 'tags', tags: chunk });
  for (const glob of globs) out.push({ kind: 'pattern', glob });
  for (const prefix of prefixes) out.push({ kind: 'clear', prefix });
  return out;
}

function chunks(items: string[]): string[][] {
  if (items.length === 0) return [];
  // The usual batch (one tick of writes) fits in one message: no need to measure each item.
  if (items.length <= MAX_ITEMS_PER_MESSAGE && maxSize(items) <= MAX_BYTES_PER_MESSAGE)
    return [items];
  const out: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = itemSize(item);
    if (
      current.length > 0 &&
      (current.length >= MAX_ITEMS_PER_MESSAGE || bytes + size > MAX_BYTES_PER_MESSAGE)
    ) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * An upper bound of the items' {@link itemSize}s, without encoding them: UTF-8 takes at most three
 * bytes per UTF-16 unit.
 */
function maxSize(items: readonly string[]): number {
  let size = 0;
  for (let i = 0; i < items.length; i++) size += items[i]!.length * 3 + 2;
  return size;
}
