import type { LoggerService } from '@nestjs/common';
import type { CacheEntry } from '../interfaces/cache-backend.interface.js';
import type {
  CacheStats,
  TierSelection,
  TierStats,
} from '../interfaces/cache-service.interface.js';
import type { BusStats, EngineBus, EnginePublishOptions } from '../bus/bus-stats.js';
import { describeError } from '../cache.errors.js';
import { CacheEvents } from './cache-events.js';
import { writeSentOf } from './bus-connection.js';
import { lastResultOf } from './last-result.js';
import { Changes } from './changes.js';
import { startDeadline } from './deadline.js';
import { SingleFlight } from './single-flight.js';
import type { InvalidationEvent } from './invalidation.js';
import { readClockOf, type ReadClock } from './read-clock.js';
import type { Tier } from './tier.js';

/** The bus's options for a change that went through Redis (one object, not one per write). */
const REDIS_CHANGED: EnginePublishOptions = { redisChanged: true };

/**
 * The two tiers shared by every cache view of one `CacheModule.forRoot`: writes and invalidates
 * both, and holds what the views share (the clock, the logger, single-flight, events). Reads go
 * through `lookup` (core/lookup.ts). Keys, globs and tags arrive fully namespaced.
 *
 * Every write and invalidation is recorded in {@link changes} while it runs, so that no read or
 * computation that overlaps it puts an older value back into a tier. With an invalidation bus,
 * each one is published once it is done, and other instances' invalidations evict this L1.
 */
export class TieredCache {
  /** Writes and invalidations in progress or done, against which backfills and stores are checked. */
  readonly changes = new Changes();
  readonly singleFlight = new SingleFlight(this.changes);
  /** Events of every cache view of this engine (hit, miss, stale, set, delete, error). */
  readonly events = new CacheEvents();
  /** Every cache (root and named) built on this engine, for metrics. */
  readonly views = new Set<{ readonly label: string; stats(): CacheStats }>();
  private readonly listeners = new Set<(event: InvalidationEvent) => void>();
  private closed = false;
  private bus: EngineBus | undefined;
  /** Whether the shared tier's write of an entry with these tags has sent its command on return. */
  private writeSent: (tags: readonly string[]) => boolean = () => false;
  /** L1 drops after bus gaps. */
  private localDrops = 0;

  constructor(
    readonly local: Tier | undefined,
    readonly shared: Tier | undefined,
    readonly clock: () => number,
    readonly logger: LoggerService,
    /** False with `enabled: false`: no tier stores anything and concurrent misses are not coalesced either. */
    readonly enabled = true,
    /**
     * The time a read judges freshness by (`readClock.now()`): `clock`, or on the default clock
     * a reading of it shared by the reads of the next millisecond, never ahead of it
     * (`core/read-clock.ts`).
     */
    readonly readClock: ReadClock = readClockOf(clock, false),
  ) {
    for (const tier of [local, shared]) {
      if (tier === undefined) continue;
      tier.onError = (code) => {
        if (this.events.active.error)
          this.events.emit('error', { tier: tier.config.role, backend: tier.backend.name, code });
      };
    }
  }

  /**
   * Writes an entry to the selected tiers; resolves when every tier finished or gave up. With a
   * `ticket` (a value computed since then), nothing is written if the key changed meanwhile: the
   * value may predate that change.
   */
  async write(
    key: string,
    entry: CacheEntry,
    tier: TierSelection = 'both',
    ticket?: number,
  ): Promise<void> {
    if (ticket !== undefined && !this.changes.unchangedSince(key, ticket)) return;
    const end = this.changes.beginKeys([key]);
    const event: InvalidationEvent = { kind: 'keys', keys: [key] };
    const toShared = tier !== 'local' && this.shared !== undefined;
    // A message that can follow the Redis write on its connection goes without waiting for it:
    // asked for before the write is sent, it is published after it, at the end of this tick.
    const behind = toShared && this.writeSent(entry.tags) ? this.publishedBehind(event) : undefined;
    const bus = toShared ? this.bus : undefined;
    bus?.answersDue(1);
    try {
      const ttlMs = Math.max(1, entry.staleUntil - this.clock());
      const local = tier !== 'shared' ? this.local?.set(key, entry, ttlMs) : undefined;
      const shared = toShared ? this.shared!.set(key, entry, ttlMs) : undefined;
      if (local instanceof Promise) await local;
      if (shared instanceof Promise) await shared;
    } finally {
      end();
      bus?.answersDue(-1);
    }
    await (behind ?? this.published(event, toShared, false));
  }

  /** Deletes keys from both tiers; resolves to how many keys existed (in the tier that had more). */
  delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return Promise.resolve(0);
    return this.invalidate(
      { kind: 'keys', keys },
      this.changes.beginKeys(keys),
      (tier) => tier.delete(keys),
      // Redis tells the other instances itself (tracking) of every key the DEL actually removed.
      (sharedCount) => sharedCount === keys.length,
    );
  }

  /** Deletes keys matching a glob from both tiers; resolves to how many distinct keys were removed. */
  deletePattern(glob: string): Promise<number> {
    return this.invalidateBroadly({ kind: 'pattern', glob }, (tier) => tier.deletePattern(glob));
  }

  /** Deletes keys carrying any of the tags from both tiers; resolves to how many distinct keys. */
  async deleteByTags(tags: readonly string[]): Promise<number> {
    if (tags.length === 0) return 0;
    return this.invalidateBroadly({ kind: 'tags', tags }, (tier) => tier.deleteByTags(tags));
  }

  /** Removes every entry under a prefix from both tiers. */
  async clear(prefix: string): Promise<void> {
    await this.invalidateBroadly({ kind: 'clear', prefix }, async (tier) =>
      (await tier.clear(prefix)) ? 0 : undefined,
    );
  }

  /**
   * Connects the invalidation bus: publishes this engine's writes and invalidations, evicts L1 on
   * other instances' ones, and drops L1 after a gap in the subscription.
   */
  attachBus(bus: EngineBus): void {
    this.bus = bus;
    this.writeSent = writeSentOf(this.shared?.backend);
    bus.onRemoteInvalidation((invalidation) => {
      void this.evictLocal(invalidation);
      // The sender could not apply it to Redis: reading Redis must wait until this tier has.
      if (invalidation.sharedMissed === true) this.shared?.recordMissed(unflagged(invalidation));
    });
    bus.onGap(() => void this.dropLocal());
    // An invalidation Redis missed (it was unreachable) is told again once it is applied there, so
    // every other instance's L1 drops what it may have copied from Redis meanwhile.
    // One Redis missed is told at once too, flagged: the others must not read it there meanwhile.
    if (this.shared !== undefined) {
      this.shared.onReplayed = (invalidation) => bus.publish(unflagged(invalidation));
      this.shared.onMissed = (invalidation) => bus.publish({ ...invalidation, sharedMissed: true });
    }
  }

  /** The bus's state and counters, with the L1 drops it caused; undefined without a bus. */
  busStats(): (BusStats & { localDrops: number }) | undefined {
    return this.bus === undefined
      ? undefined
      : { ...this.bus.stats(), localDrops: this.localDrops };
  }

  /**
   * Applies another instance's invalidation (or a change Redis reported) to L1 only. Recorded as a
   * change, so that a read of L2 that overlaps it does not put the old value back.
   */
  async evictLocal(invalidation: InvalidationEvent): Promise<void> {
    const local = this.local;
    if (local === undefined) return;
    const end =
      invalidation.kind === 'keys'
        ? this.changes.beginKeys(invalidation.keys)
        : this.changes.beginBroad();
    try {
      await local.invalidate(invalidation);
    } finally {
      end();
    }
  }

  /** Drops every entry of L1 (after a bus gap: messages may have been missed). */
  async dropLocal(): Promise<void> {
    if (this.local === undefined) return;
    this.localDrops++;
    const end = this.changes.beginBroad();
    try {
      await this.local.clear('');
    } finally {
      end();
    }
  }

  /** Subscribes to invalidations made through this engine; returns the unsubscribe function. */
  onInvalidate(listener: (event: InvalidationEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The tiers' counters and latency percentiles (shared by every cache view of this engine). */
  tierStats(): CacheStats['tiers'] {
    const tiers: CacheStats['tiers'] = {};
    if (this.local !== undefined) tiers.local = tierStats(this.local);
    if (this.shared !== undefined) tiers.shared = tierStats(this.shared);
    return tiers;
  }

  /**
   * Replays once more what the tiers missed, closes the bus (publishing what it still holds, the
   * replays included), then both tiers' backends. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.readClock.stop();
    this.listeners.clear();
    this.events.clear();
    await Promise.all([this.local?.replayBeforeClose(), this.shared?.replayBeforeClose()]);
    await this.bus?.close();
    await Promise.all([this.local?.close(), this.shared?.close()]);
  }

  /** A pattern, tag or clear invalidation: recorded as a change of every key while it runs. */
  private invalidateBroadly(
    event: InvalidationEvent,
    op: (tier: Tier) => Promise<number | undefined>,
  ): Promise<number> {
    return this.invalidate(event, this.changes.beginBroad(), op, () => false);
  }

  /**
   * Runs an invalidation on both tiers (a change that `end`s when they are done, even failed),
   * then publishes it; resolves to the larger of the tiers' counts. `redisChanged` says, from the
   * shared tier's count, whether Redis saw every change itself (tracking then tells the others).
   */
  private async invalidate(
    event: InvalidationEvent,
    end: () => void,
    op: (tier: Tier) => Promise<number | undefined>,
    redisChanged: (sharedCount: number | undefined) => boolean,
  ): Promise<number> {
    let counts: [number | undefined, number | undefined];
    try {
      counts = await this.both(op);
    } finally {
      end();
    }
    await this.published(event, redisChanged(counts[1]));
    return Math.max(counts[0] ?? 0, counts[1] ?? 0);
  }

  /**
   * Runs an invalidation on both tiers at once; resolves to each tier's count (undefined when it
   * failed or is absent). Every write goes to both tiers, so L2 normally holds a superset of L1 and
   * the larger count is the number of distinct keys removed.
   */
  private both(
    op: (tier: Tier) => Promise<number | undefined>,
  ): Promise<[number | undefined, number | undefined]> {
    return Promise.all([
      this.local === undefined ? undefined : op(this.local),
      this.shared === undefined ? undefined : op(this.shared),
    ]);
  }

  /**
   * Tells the listeners and the bus about a write or an invalidation that is done, and waits (at
   * most the shared tier's deadline) for the bus to have it delivered: once it resolves, Redis has
   * written the message (or its own tracking message) to every other instance's connection.
   */
  private published(
    event: InvalidationEvent,
    redisChanged: boolean,
    notify = true,
  ): Promise<void> | undefined {
    if (notify) this.notify(event);
    const sent = this.bus?.publish(event, redisChanged ? REDIS_CHANGED : undefined);
    return sent === undefined ? undefined : this.bounded(sent);
  }

  /**
   * {@link published} (without listeners: a write) for a write whose Redis command is sent right
   * after this call: undefined unless the bus sends its message behind that command (pub/sub mode).
   */
  private publishedBehind(event: InvalidationEvent): Promise<void> | undefined {
    const sent = this.bus?.publishBehindWrite?.(event);
    return sent === undefined ? undefined : this.bounded(sent);
  }

  /**
   * `sent`, or at most the shared tier's deadline: a write never waits longer for its message.
   * The bus hands the writes of one tick the same promise; they share its bound too (started by
   * the first of them, in the same tick).
   */
  private readonly bounded = lastResultOf((sent: Promise<void>): Promise<void> => {
    const timeoutMs = this.shared?.config.timeoutMs ?? 1_000;
    return new Promise<void>((resolve) => {
      const deadline = startDeadline(timeoutMs, resolve);
      void sent.then(() => {
        if (deadline.finish()) resolve();
      });
    });
  });

  private notify(event: InvalidationEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger.warn(`an invalidation listener threw (${describeError(err)})`);
      }
    }
  }
}

/** Counters and latency of one tier. */
function tierStats(tier: Tier): TierStats {
  const { hits, misses, errors } = tier.counters;
  const get = tier.latency.get.percentiles();
  const set = tier.latency.set.percentiles();
  return {
    backend: tier.backend.name,
    hits,
    misses,
    errors,
    hitRate: rate(hits, misses),
    ...(get || set ? { latencyMs: { ...(get && { get }), ...(set && { set }) } } : {}),
  };
}

/** hits / (hits + misses), 0 without reads. */
export function rate(hits: number, misses: number): number {
  return hits + misses === 0 ? 0 : hits / (hits + misses);
}

/**
 * An invalidation without the bus's `sharedMissed` flag: what another instance missed is recorded
 * and replayed here as a plain one (its replay is told unflagged: the flag must not bounce back).
 */
function unflagged(
  invalidation: InvalidationEvent & { sharedMissed?: boolean },
): InvalidationEvent {
  switch (invalidation.kind) {
    case 'keys':
      return { kind: 'keys', keys: invalidation.keys };
    case 'pattern':
      return { kind: 'pattern', glob: invalidation.glob };
    case 'tags':
      return { kind: 'tags', tags: invalidation.tags };
    case 'clear':
      return { kind: 'clear', prefix: invalidation.prefix };
  }
}
