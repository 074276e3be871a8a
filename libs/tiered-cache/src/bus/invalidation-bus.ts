import type { LoggerService } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { withDeadline } from '../core/deadline.js';
import { decodeBusMessage, encodeBusMessage, type BusInvalidation } from './bus-message.js';
import {
  resolveBusOptions,
  type InvalidationBusOptions,
  type ResolvedBusOptions,
} from './bus-options.js';
import { PublishQueue } from './publish-queue.js';
import {
  disableTracking,
  enableTracking,
  TRACKING_CHANNEL,
  trackingIntact,
  trackingRefused,
} from './redis-tracking.js';

/** How invalidations reach this instance: Redis tracking plus explicit messages, or messages only. */
export type BusMode = 'tracking' | 'pubsub';

/**
 * Why the subscription had a gap, after which invalidations may have been missed: the subscriber
 * or the tracking connection reconnected (or tracking had to be re-pointed), Redis was flushed,
 * or a message could not be read (another version of the library).
 */
export type BusGapReason = 'reconnect' | 'flush' | 'unreadable';

/** Counters and state of the bus, for health and metrics. */
export interface BusStats {
  /** Subscribed, and (in tracking mode) tracking redirected to the subscriber. */
  connected: boolean;
  mode: BusMode;
  /** Messages published (after merging). */
  sent: number;
  /** Invalidations received from other instances or from Redis tracking. */
  received: number;
  /** Failed or late PUBLISH attempts (each retried from the queue). */
  publishFailures: number;
  /** Invalidation items waiting to be published. */
  queued: number;
  /** Times the queue was full and was folded into one clear of the namespace. */
  queueOverflows: number;
  /** Gaps signalled (each one an L1 drop). */
  gaps: number;
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
 * Keeps every instance's L1 coherent for one namespace. Explicit messages go over pub/sub on the
 * engine's connection; a dedicated subscriber connection receives them and, in tracking mode,
 * Redis's own invalidations of `<namespace>:*` keys changed by anyone else. See the README
 * paragraph in `bus/README.md` for which mode runs when.
 */
export class InvalidationBus {
  readonly instanceId: string;
  readonly channel: string;
  private readonly options: ResolvedBusOptions;
  private readonly connection: Redis;
  private readonly logger: LoggerService;
  private readonly queue: PublishQueue;
  private readonly invalidationHandlers = new Set<(invalidation: BusInvalidation) => void>();
  private readonly gapHandlers = new Set<(reason: BusGapReason) => void>();
  private subscriber: Redis | undefined;
  private subscriberId: number | undefined;
  /** Bumped on every subscriber close, so a late answer of an old connection is ignored. */
  private epoch = 0;
  private subscribed = false;
  /** Undefined until the server accepted or refused tracking once. */
  private trackingSupported: boolean | undefined;
  private trackingOn = false;
  private pointing = false;
  private connected = false;
  private gapPending = false;
  private received = 0;
  private gaps = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private beating = false;
  private closed = false;

  constructor(options: InvalidationBusOptions) {
    this.options = resolveBusOptions(options);
    this.connection = this.options.connection;
    this.logger = this.options.logger;
    this.instanceId = this.options.instanceId;
    this.channel = this.options.channel;
    if (!this.options.tracking) this.trackingSupported = false;
    this.queue = new PublishQueue({
      maxQueued: this.options.maxQueued,
      clearPrefix: `${this.options.namespace}:`,
      send: (invalidation) => this.send(invalidation),
      onFailure: () => undefined, // counted in stats; the connection's own errors are logged by its tier
    });
  }

  /**
   * Opens the subscriber and resolves once subscribed (and tracking decided), or after
   * `connectTimeoutMs`: never rejects. If it was not connected in time, its first connection is
   * reported as a gap, since L1 may have been filled meanwhile.
   */
  async start(): Promise<void> {
    if (this.subscriber !== undefined || this.closed) return;
    this.connection.on('ready', this.onConnectionReady);
    this.connection.on('close', this.onConnectionClose);
    const subscriber = this.connection.duplicate({
      protocol: 2, // Redis sends tracking invalidations as pub/sub messages only to RESP2 clients
      autoResubscribe: false, // resubscribed by hand, after reading the new CLIENT ID
      autoResendUnfulfilledCommands: false,
      enableOfflineQueue: false,
      enableAutoPipelining: false,
      lazyConnect: true,
    });
    this.subscriber = subscriber;
    subscriber.on('error', () => undefined); // a closed subscriber shows in stats().connected
    subscriber.on('ready', this.onSubscriberReady);
    subscriber.on('close', this.onSubscriberClose);
    subscriber.on('messageBuffer', this.onMessage);
    this.heartbeat = setInterval(this.beat, this.options.heartbeatMs);
    this.heartbeat.unref();
    subscriber.connect().catch(() => undefined);
    if (!(await this.waitConnected(this.options.connectTimeoutMs)) && !this.closed) {
      this.gapPending = true;
      this.logger.warn(
        `bus not connected within ${this.options.connectTimeoutMs} ms; L1 is dropped once it is`,
      );
    }
  }

  /**
   * Queues an invalidation for every other instance of the namespace. Synchronous, never throws:
   * it is published on the next tick, merged with others, and retried while Redis is unreachable.
   */
  publish(invalidation: BusInvalidation, options?: PublishOptions): void {
    if (this.closed) return;
    if (options?.redisChanged === true && invalidation.kind === 'keys' && this.trackingSupported)
      return;
    this.queue.add(invalidation);
  }

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
      connected: this.connected,
      mode: this.trackingSupported === true ? 'tracking' : 'pubsub',
      sent,
      received: this.received,
      publishFailures: failures,
      queued: this.queue.size,
      queueOverflows: overflows,
      gaps: this.gaps,
    };
  }

  /** Publishes what is queued (one last attempt), switches tracking off and closes the subscriber. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    await this.queue.close();
    this.connection.off('ready', this.onConnectionReady);
    this.connection.off('close', this.onConnectionClose);
    if (this.trackingOn) await disableTracking(this.connection, this.options.publishTimeoutMs);
    this.trackingOn = this.subscribed = this.connected = false;
    this.invalidationHandlers.clear();
    this.gapHandlers.clear();
    const subscriber = this.subscriber;
    if (subscriber !== undefined) await closeConnection(subscriber);
  }

  private async send(invalidation: BusInvalidation): Promise<void> {
    if (this.connection.status !== 'ready') throw new Error('the bus connection is not ready');
    const payload = encodeBusMessage({
      instanceId: this.instanceId,
      namespace: this.options.namespace,
      invalidation,
    });
    await withDeadline(
      this.connection.publish(this.channel, payload),
      this.options.publishTimeoutMs,
      'bus PUBLISH',
    );
  }

  private readonly onSubscriberReady = (): void => {
    void this.subscribe();
  };

  /** Reads the subscriber's CLIENT ID (for REDIRECT), subscribes, then points tracking at it. */
  private async subscribe(): Promise<void> {
    const subscriber = this.subscriber;
    const epoch = this.epoch;
    if (subscriber === undefined || this.closed) return;
    const timeoutMs = this.options.publishTimeoutMs;
    try {
      let id: number | undefined;
      if (this.trackingSupported !== false) {
        try {
          id = Number(await withDeadline(subscriber.call('CLIENT', 'ID'), timeoutMs, 'CLIENT ID'));
        } catch (err) {
          if (!trackingRefused(err)) throw err;
          this.refuseTracking(err);
        }
      }
      const channels = id === undefined ? [this.channel] : [this.channel, TRACKING_CHANNEL];
      await withDeadline(subscriber.subscribe(...channels), timeoutMs, 'SUBSCRIBE');
      if (epoch !== this.epoch || this.closed) return;
      this.subscriberId = id;
      this.subscribed = true;
    } catch {
      // This connection cannot subscribe (it is closing or hung): start over on a fresh one.
      if (epoch === this.epoch && !this.closed) subscriber.disconnect(true);
      return;
    }
    this.refresh();
    await this.pointTracking();
  }

  private readonly onSubscriberClose = (): void => {
    this.epoch++;
    this.subscribed = false;
    this.subscriberId = undefined;
    this.trackingOn = false; // it redirects to a client that is gone
    this.refresh();
  };

  private readonly onConnectionReady = (): void => {
    this.queue.retryNow();
    void this.pointTracking();
  };

  private readonly onConnectionClose = (): void => {
    if (!this.trackingOn) return;
    this.trackingOn = false; // tracking lives on the connection: the new one starts without it
    this.refresh();
  };

  /** Enables tracking on the engine's connection, redirected to the current subscriber. */
  private async pointTracking(): Promise<void> {
    if (this.trackingSupported === false || this.trackingOn || this.pointing || this.closed) return;
    const id = this.subscriberId;
    if (!this.subscribed || id === undefined || this.connection.status !== 'ready') return;
    this.pointing = true;
    try {
      await enableTracking(
        this.connection,
        id,
        `${this.options.namespace}:`,
        this.options.publishTimeoutMs,
      );
      if (this.closed) return;
      this.trackingSupported = true;
      this.trackingOn = this.subscribed && this.subscriberId === id;
    } catch (err) {
      if (this.trackingSupported === undefined && trackingRefused(err)) this.refuseTracking(err);
      // otherwise (disconnected, timeout, redirect target gone) the heartbeat tries again
    } finally {
      this.pointing = false;
    }
    this.refresh();
    if (!this.trackingOn && this.subscribed && this.subscriberId !== id) await this.pointTracking();
  }

  private refuseTracking(err: unknown): void {
    this.trackingSupported = false;
    this.trackingOn = false;
    const reason = err instanceof Error ? err.message : String(err);
    this.logger.warn(
      `Redis refused CLIENT TRACKING (${reason}); the bus sends explicit pub/sub messages only, ` +
        'so changes made to cached keys outside this library do not evict L1 copies',
    );
  }

  /** Recomputes `connected`; a reconnection after a disconnection is a gap. */
  private refresh(): void {
    const now = this.subscribed && (this.trackingSupported === false || this.trackingOn);
    if (now === this.connected || this.closed) return;
    this.connected = now;
    if (!now) this.gapPending = true;
    else if (this.gapPending) {
      this.gapPending = false;
      this.signalGap('reconnect');
    }
  }

  private readonly onMessage = (channel: Buffer, payload: Buffer | Buffer[] | null): void => {
    const name = channel.toString();
    if (name === TRACKING_CHANNEL) {
      if (!Array.isArray(payload)) return this.signalGap('flush'); // FLUSHALL / FLUSHDB
      this.received++;
      return this.deliver({ kind: 'keys', keys: payload.map(String) });
    }
    if (name !== this.channel || payload === null || Array.isArray(payload)) return;
    let message;
    try {
      message = decodeBusMessage(payload);
    } catch (err) {
      this.logger.warn(`unreadable bus message on ${this.channel}: ${(err as Error).message}`);
      return this.signalGap('unreadable');
    }
    if (message.instanceId === this.instanceId || message.namespace !== this.options.namespace)
      return;
    this.received++;
    this.deliver(message.invalidation);
  };

  private deliver(invalidation: BusInvalidation): void {
    for (const handler of this.invalidationHandlers) {
      try {
        handler(invalidation);
      } catch (err) {
        this.logger.warn(`a bus invalidation handler threw: ${(err as Error).message}`);
      }
    }
  }

  private signalGap(reason: BusGapReason): void {
    this.gaps++;
    for (const handler of this.gapHandlers) {
      try {
        handler(reason);
      } catch (err) {
        this.logger.warn(`a bus gap handler threw: ${(err as Error).message}`);
      }
    }
  }

  /** PINGs the subscriber (reconnecting it when it does not answer) and checks tracking. */
  private readonly beat = (): void => {
    if (this.beating || this.closed) return;
    this.beating = true;
    void this.checkHealth().finally(() => (this.beating = false));
  };

  private async checkHealth(): Promise<void> {
    const subscriber = this.subscriber;
    if (subscriber === undefined || !this.subscribed) return;
    try {
      await withDeadline(subscriber.ping(), this.options.heartbeatMs, 'bus PING');
    } catch {
      if (subscriber.status === 'ready' && !this.closed) subscriber.disconnect(true);
      return;
    }
    if (this.trackingSupported !== true) return;
    if (!this.trackingOn) return this.pointTracking();
    const id = this.subscriberId!;
    const intact = await trackingIntact(this.connection, id, this.options.heartbeatMs);
    if (intact !== false || !this.trackingOn || this.subscriberId !== id) return;
    this.trackingOn = false;
    this.refresh();
    await this.pointTracking();
  }

  private waitConnected(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve) => {
      const poll = () => {
        if (this.connected || this.closed || Date.now() >= deadline) resolve(this.connected);
        else setTimeout(poll, 5).unref();
      };
      poll();
    });
  }
}

/** Closes an ioredis connection and resolves once its socket is gone (at most 1 s). */
function closeConnection(client: Redis): Promise<void> {
  if (client.status === 'end') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 1_000);
    timer.unref();
    client.once('end', () => {
      clearTimeout(timer);
      resolve();
    });
    client.disconnect();
  });
}
