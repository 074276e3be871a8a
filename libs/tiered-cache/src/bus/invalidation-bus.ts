import type { LoggerService } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { storedKeyOf } from '../backends/redis-keys.js';
import { describeError } from '../cache.errors.js';
import { withDeadline } from '../core/deadline.js';
import { lastResultOf } from '../core/last-result.js';
import {
  decodeBusMessage,
  encodeBusMessage,
  isMessageFrom,
  type BusInvalidation,
} from './bus-message.js';
import {
  resolveBusOptions,
  type InvalidationBusOptions,
  type ResolvedBusOptions,
} from './bus-options.js';
import { BusSubscription, type BusGapReason } from './bus-subscription.js';
import { ClusterBusHome } from './cluster-home.js';
import { PublishQueue } from './publish-queue.js';
import { pingOf, ReadFence } from './read-fence.js';
import type { BusStats } from './bus-stats.js';

export type { BusGapReason } from './bus-subscription.js';
export type { BusMode, BusStats } from './bus-stats.js';

/** Resolves in the next turn of the event loop (its check phase). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** `keys.every((key) => key.startsWith(prefix))`, without a closure per call (on every write). */
function allStartWith(keys: readonly string[], prefix: string): boolean {
  for (let i = 0; i < keys.length; i++) if (!keys[i]!.startsWith(prefix)) return false;
  return true;
}

/** Options of {@link InvalidationBus.publish}. */
export interface PublishOptions {
  /**
   * True when exactly these keys were just written or deleted in Redis through the bus's
   * connection: in tracking mode Redis already tells the other instances, so nothing is sent.
   */
  redisChanged?: boolean;
}

/**
 * Keeps the L1 of every instance of one namespace coherent. Explicit messages (compact, versioned,
 * see `bus-message.ts`) go over pub/sub on the engine's connection, merged per tick and retried
 * from a bounded queue. A dedicated subscriber connection receives them and, in tracking mode,
 * Redis's own invalidations of `<namespace>:*` keys changed by any other client. Tracking is used
 * whenever the server accepts `CLIENT TRACKING` (Redis 6+, not refused by an ACL or a proxy) on a
 * single node or through Sentinel; otherwise, and always on a Redis Cluster (where tracking would
 * be per node: see the README, "Redis Cluster and Sentinel"), every invalidation travels as an
 * explicit message; on a Cluster every instance publishes and subscribes on the bus's home master
 * (see `ClusterBusHome`), and the cluster relays messages to other nodes' subscribers.
 */
export class InvalidationBus {
  readonly instanceId: string;
  readonly channel: string;
  /** The instance id as its message bytes encode it. */
  private readonly instanceIdBytes: Buffer;
  /** `<namespace>:`, the prefix Redis tracks for this bus. */
  private readonly prefix: string;
  private readonly options: ResolvedBusOptions;
  private readonly connection: Redis | Cluster;
  private readonly logger: LoggerService;
  private readonly queue: PublishQueue;
  private readonly subscription: BusSubscription;
  private readonly invalidationHandlers = new Set<(invalidation: BusInvalidation) => void>();
  private readonly gapHandlers = new Set<(reason: BusGapReason) => void>();
  /** On a Cluster, where the bus publishes, subscribes and fences (undefined on a single node). */
  private readonly home: ClusterBusHome | undefined;
  /** On a single node, the connection's fence (see {@link fence}). */
  private readonly readFence: ReadFence | undefined;
  /** On a Cluster, the fence the callers of this turn of the event loop share (see {@link fence}). */
  private nextFence: Promise<void> | undefined;
  private received = 0;
  private gaps = 0;
  private started = false;
  private closed = false;

  constructor(options: InvalidationBusOptions) {
    this.options = resolveBusOptions(options);
    this.connection = this.options.connection;
    this.logger = this.options.logger;
    this.instanceId = this.options.instanceId;
    this.instanceIdBytes = Buffer.from(this.instanceId);
    this.channel = this.options.channel;
    const prefix = `${this.options.namespace}:`;
    this.prefix = prefix;
    const keyPrefix = (this.connection.options as { keyPrefix?: string }).keyPrefix ?? '';
    const cluster = (this.connection as { isCluster?: unknown }).isCluster === true;
    const home = cluster
      ? new ClusterBusHome(this.connection as Cluster, this.channel, this.options.publishTimeoutMs)
      : undefined;
    this.home = home;
    this.readFence = home === undefined ? new ReadFence(this.connection as Redis) : undefined;
    this.queue = new PublishQueue({
      maxQueued: this.options.maxQueued,
      clearPrefix: prefix,
      send: (invalidation) => this.send(invalidation),
      onFailure: () => undefined, // counted in stats; the connection's errors are its tier's to log
    });
    this.subscription = new BusSubscription({
      connection: this.connection,
      channel: this.channel,
      // ioredis's keyPrefix is part of every key in Redis, so of what tracking reports.
      trackingPrefix: this.options.tracking && !cluster ? keyPrefix + prefix : undefined,
      ...(home === undefined
        ? {}
        : { openSubscriber: home.openSubscriber, shouldMove: home.awayFromHome }),
      commandTimeoutMs: this.options.publishTimeoutMs,
      heartbeatMs: this.options.heartbeatMs,
      logger: this.logger,
      onMessage: (payload) => this.onMessage(payload),
      onTrackedKeys: (keys) => {
        // Redis reports the Redis keys: entries' (escaped) and the backend's bookkeeping keys.
        const stored: string[] = [];
        for (const key of keys) {
          const entry = storedKeyOf(keyPrefix === '' ? key : key.slice(keyPrefix.length));
          if (entry !== undefined) stored.push(entry);
        }
        if (stored.length === 0) return;
        this.received++;
        this.deliver({ kind: 'keys', keys: stored });
      },
      onGap: (reason) => this.signalGap(reason),
    });
  }

  /**
   * Opens the subscriber and resolves once subscribed (and tracking decided), or after
   * `connectTimeoutMs`: never rejects. If it was not connected in time, its first connection is
   * reported as a gap, since L1 may have been filled meanwhile.
   */
  async start(): Promise<void> {
    if (this.started || this.closed) return;
    this.started = true;
    this.connection.on('ready', this.onConnectionReady);
    this.readFence?.watch();
    if (!(await this.subscription.start(this.options.connectTimeoutMs)) && !this.closed)
      this.logger.warn(
        `bus not connected within ${this.options.connectTimeoutMs} ms; L1 is dropped once it is`,
      );
  }

  /**
   * Queues an invalidation for every other instance of the namespace. Never throws: it is published
   * on the next tick, merged with others, and retried while Redis is unreachable. Returns a promise
   * that resolves after the first attempt and a {@link fence} (Redis has then written the message,
   * or its own tracking message when tracking tells the others, to every subscriber's connection,
   * unless the attempt failed, or on a Cluster, a subscriber is away from the bus's home); undefined
   * once closed.
   */
  publish(invalidation: BusInvalidation, options?: PublishOptions): Promise<void> | undefined {
    if (this.closed) return undefined;
    if (
      options?.redisChanged === true &&
      invalidation.kind === 'keys' &&
      this.subscription.trackingSupported === true &&
      allStartWith(invalidation.keys, this.prefix)
    )
      return this.fence(); // Redis's tracking tells every other instance
    return this.fenced(this.queue.add(invalidation));
  }

  /**
   * {@link publish} for a write of `invalidation`'s keys whose command the caller sends right after
   * this call, in the same synchronous run, on the engine's connection. In pub/sub mode its message
   * is published at the end of this tick, behind that command on the connection (in the same
   * ioredis auto-pipeline, when the write's is still being filled), not once the write has
   * answered: Redis runs one connection's commands in order, so another instance that reads Redis
   * on this message finds the write done (had the write failed, the message only evicts a copy).
   * That saves a round trip per write; the fence still follows the PUBLISH's answer, hence the
   * write's. Undefined when it does not apply: tracking tells the others of such a write (and its
   * fence must follow the write's answer), and on a Cluster the PUBLISH may go through another node.
   */
  publishBehindWrite(invalidation: BusInvalidation): Promise<void> | undefined {
    if (this.closed || this.home !== undefined || this.connection.status !== 'ready')
      return undefined;
    if (this.subscription.trackingSupported !== false) return undefined;
    return this.fenced(this.queue.add(invalidation, true));
  }

  /**
   * Brackets a command on the bus's connection whose answer a fence will follow: `1` before it is
   * sent, `-1` once it settled (see {@link fence}).
   */
  answersDue(change: 1 | -1): void {
    this.readFence?.answersDue(change);
  }

  /**
   * `attempt` followed by a {@link fence}. The queue gives every caller of one batch the same
   * promise, and they share one fence: a write in pub/sub mode allocates nothing here.
   */
  private readonly fenced = lastResultOf((attempt: Promise<void>) => attempt.then(this.fence));

  /**
   * Resolves once Redis has written out everything it owed to clients when the commands answered
   * so far were run: a PING sent after those answers arrived. Redis answers a command and writes
   * the messages it causes (a PUBLISH's, a tracking invalidation) in the same turn of its event
   * loop, but not in a set order: a publisher can read its answer, and tell another process, before
   * Redis has written the message to that process's subscriber (seen on two busy cores). Redis
   * writes everything pending before it reads the next command, so the PING's answer proves it.
   *
   * On a single node the connection's {@link ReadFence} times the PING: it is shared while nothing
   * more is read from the socket, and has usually gone out at the end of the read that brought the
   * last answer Redis owed, before their callers ran (the engine brackets its writes with
   * {@link answersDue}).
   *
   * On a Cluster the PING goes to the node that took the last PUBLISH, the bus's home, where every
   * instance subscribes (see `ClusterBusHome`); a subscriber elsewhere (while the home fails over)
   * gets the message over the cluster's own bus, which no command waits for. There it keeps the
   * timing it had before 2026-12-06: sent two turns of the event loop after the first caller, the
   * sharing ended by the first. Sent at once, instances in one process (the Cluster bus tests) saw
   * a change resolve before they had read it (19 and 9 of 200; after one turn, 1 or 2; after two,
   * none in 4 runs); the cause is not found. Never rejects.
   */
  private readonly fence = (): Promise<void> => {
    if (this.closed) return Promise.resolve();
    const home = this.home;
    if (home === undefined) return this.readFence!.fence();
    if (this.nextFence !== undefined) return this.nextFence;
    this.nextFence = nextTurn()
      .then(nextTurn)
      .then(() => pingOf(home.lastPublishedOn));
    setImmediate(this.fenceSent);
    return this.nextFence;
  };

  /** Ends the sharing of the current Cluster fence (see {@link fence}). */
  private readonly fenceSent = (): void => {
    this.nextFence = undefined;
  };

  /** Calls `handler` with what to evict from L1 for each remote invalidation; returns the unsubscribe. */
  onRemoteInvalidation(handler: (invalidation: BusInvalidation) => void): () => void {
    this.invalidationHandlers.add(handler);
    return () => this.invalidationHandlers.delete(handler);
  }

  /** Calls `handler` after each gap in the subscription: the engine must drop its whole L1. */
  onGap(handler: (reason: BusGapReason) => void): () => void {
    this.gapHandlers.add(handler);
    return () => this.gapHandlers.delete(handler);
  }

  /** A snapshot of the bus's state and counters. */
  stats(): BusStats {
    const { sent, failures, overflows } = this.queue.stats;
    return {
      connected: this.subscription.connected,
      mode: this.subscription.trackingSupported === true ? 'tracking' : 'pubsub',
      sent,
      received: this.received,
      publishFailures: failures,
      queued: this.queue.size,
      queueOverflows: overflows,
      gaps: this.gaps,
    };
  }

  /** Publishes what is queued (one last attempt), switches tracking off, closes the subscriber. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.connection.off('ready', this.onConnectionReady);
    this.readFence?.close();
    await this.queue.close();
    await this.subscription.close();
    this.invalidationHandlers.clear();
    this.gapHandlers.clear();
  }

  private readonly onConnectionReady = (): void => {
    this.readFence?.watch();
    this.queue.retryNow();
  };

  private async send(invalidation: BusInvalidation): Promise<void> {
    if (this.connection.status !== 'ready') throw new Error('the bus connection is not ready');
    const payload = encodeBusMessage({
      instanceId: this.instanceId,
      namespace: this.options.namespace,
      invalidation,
    });
    // On a Cluster the home publishes under the same deadline itself (to know which node failed).
    if (this.home !== undefined) {
      await this.home.publish(this.channel, payload);
      return;
    }
    // Its fence follows its answer, which the connection's fence is told is due.
    this.answersDue(1);
    try {
      await withDeadline(
        this.connection.publish(this.channel, payload),
        this.options.publishTimeoutMs,
        'bus PUBLISH',
      );
    } finally {
      this.answersDue(-1);
    }
  }

  private onMessage(payload: Buffer): void {
    if (isMessageFrom(payload, this.instanceIdBytes)) return; // its own, echoed back
    let message;
    try {
      message = decodeBusMessage(payload);
    } catch (err) {
      this.logger.warn(`unreadable bus message on ${this.channel} (${describeError(err)})`);
      return this.signalGap('unreadable');
    }
    if (message.instanceId === this.instanceId || message.namespace !== this.options.namespace)
      return;
    this.received++;
    this.deliver(message.invalidation);
  }

  private deliver(invalidation: BusInvalidation): void {
    for (const handler of this.invalidationHandlers) {
      try {
        handler(invalidation);
      } catch (err) {
        this.logger.warn(`a bus invalidation handler threw (${describeError(err)})`);
      }
    }
  }

  private signalGap(reason: BusGapReason): void {
    if (this.closed) return;
    this.gaps++;
    for (const handler of this.gapHandlers) {
      try {
        handler(reason);
      } catch (err) {
        this.logger.warn(`a bus gap handler threw (${describeError(err)})`);
      }
    }
  }
}
