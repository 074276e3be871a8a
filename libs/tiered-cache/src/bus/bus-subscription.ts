import type { LoggerService } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { describeError } from '../cache.errors.js';
import { withDeadline } from '../core/deadline.js';
import { TRACKING_CHANNEL } from './redis-tracking.js';
import { TrackingRedirect } from './tracking-redirect.js';

/**
 * Why the subscription had a gap, after which invalidations may have been missed: the subscriber
 * or the tracking connection reconnected (or tracking had to be re-pointed), Redis was flushed,
 * or a message could not be read (another version of the library).
 */
export type BusGapReason = 'reconnect' | 'flush' | 'unreadable';

/** What a {@link BusSubscription} needs and whom it tells. */
export interface BusSubscriptionOptions {
  /**
   * The engine's connection: tracking is enabled on it, redirected to the subscriber (never on a
   * Cluster, which is given with `trackingPrefix` undefined).
   */
  readonly connection: Redis | Cluster;
  /**
   * Opens a subscriber connection (lazy, not connected yet), or undefined when none can be opened
   * now (retried on the next heartbeat). Default: a duplicate of `connection`, which reconnects
   * by itself. One that ends (does not reconnect) is replaced by a new one from here, given as
   * `ended`: its node should not be tried again at once (a Cluster node just killed still looks
   * ready to the client for a moment).
   */
  readonly openSubscriber?: (ended?: Redis) => Redis | undefined;
  /**
   * Whether a working subscriber should move to the node `openSubscriber` now prefers (a Cluster's
   * bus home, see `ClusterBusHome`): checked on each heartbeat, and the move has no gap. Only
   * without tracking, whose redirect names the subscriber.
   */
  readonly shouldMove?: (subscriber: Redis) => boolean;
  /** Channel of the explicit messages. */
  readonly channel: string;
  /** Tracked key prefix (`<namespace>:`), or undefined not to try tracking at all. */
  readonly trackingPrefix: string | undefined;
  /** Deadline of each setup command, in ms. */
  readonly commandTimeoutMs: number;
  /** Interval and deadline of the subscriber's PING, in ms. */
  readonly heartbeatMs: number;
  readonly logger: LoggerService;
  /** An explicit message arrived on `channel`. */
  readonly onMessage: (payload: Buffer) => void;
  /** Redis tracking reported keys changed by another client. */
  readonly onTrackedKeys: (keys: string[]) => void;
  /** The subscription had a gap. */
  readonly onGap: (reason: BusGapReason) => void;
}

/**
 * The receiving side of the bus: its own subscriber connection (RESP2, since Redis sends tracking
 * invalidations as pub/sub messages only to RESP2 clients), tracking on the engine's connection
 * redirected to it (see {@link TrackingRedirect}), and a heartbeat. Both are re-established after
 * every reconnection of either connection; being connected again after having been disconnected
 * is reported as a gap.
 */
export class BusSubscription {
  /** Subscribed, and (when tracking is supported) tracking redirected to the subscriber. */
  connected = false;
  private readonly connection: Redis | Cluster;
  private readonly tracking: TrackingRedirect;
  private subscriber: Redis | undefined;
  /**
   * The subscriber a move replaced, still open until the next heartbeat: a message published
   * just before the new one subscribed may still be on its way to it over the cluster's bus.
   */
  private retiring: Redis | undefined;
  /** The current subscriber was subscribed at some point (so its end is worth an immediate retry). */
  private subscriberWorked = false;
  /** Subscribers opened in a row since one worked that ended without subscribing. */
  private failedOpens = 0;
  private subscriberId: number | undefined;
  /** Bumped on every subscriber close, so a late answer of an old connection is ignored. */
  private epoch = 0;
  private subscribed = false;
  private gapPending = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private beating = false;
  private closed = false;
  private readonly waiters = new Set<() => void>();
  /** The last warning logged, so that a retry loop logs a failure once, not every attempt. */
  private lastWarning: string | undefined;

  constructor(private readonly options: BusSubscriptionOptions) {
    this.connection = options.connection;
    this.tracking = new TrackingRedirect({
      connection: options.connection,
      prefix: options.trackingPrefix,
      commandTimeoutMs: options.commandTimeoutMs,
      logger: options.logger,
      target: () => (this.subscribed ? this.subscriberId : undefined),
      changed: () => this.refresh(),
      warnOnce: (message) => this.warnOnce(message),
    });
  }

  /** Undefined until the server accepted or refused tracking once. */
  get trackingSupported(): boolean | undefined {
    return this.tracking.supported;
  }

  /** Connects; resolves to whether it got connected within `timeoutMs` (never rejects). */
  async start(timeoutMs: number): Promise<boolean> {
    if (this.heartbeat !== undefined || this.closed) return this.connected;
    this.connection.on('ready', this.onConnectionReady);
    this.connection.on('close', this.onConnectionClose);
    this.heartbeat = setInterval(this.beat, this.options.heartbeatMs);
    this.heartbeat.unref();
    this.open();
    const connected = await this.waitConnected(timeoutMs);
    // Not connected in time: L1 may fill meanwhile, so the first connection counts as a gap.
    if (!connected && !this.closed) this.gapPending = true;
    return connected;
  }

  /** Stops the heartbeat, switches tracking off and closes the subscriber. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const waiter of this.waiters) waiter();
    this.connection.off('ready', this.onConnectionReady);
    this.connection.off('close', this.onConnectionClose);
    await this.tracking.close();
    this.subscribed = this.connected = false;
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    const retiring = this.retiring;
    this.retiring = undefined;
    await Promise.all([subscriber, retiring].map((c) => c && closeConnection(c)));
  }

  /** Opens a subscriber (see `openSubscriber`; `ended`, the one it replaces) and connects it. */
  private open(ended?: Redis): void {
    if (this.closed) return;
    const subscriber = (this.options.openSubscriber ?? this.duplicate)(ended);
    this.subscriber = subscriber;
    this.subscriberWorked = false;
    if (subscriber === undefined) return; // nothing to connect to now: the heartbeat retries
    subscriber.on('error', () => undefined); // a closed subscriber shows as not connected
    subscriber.on('messageBuffer', this.onMessage);
    subscriber.on('ready', () => void this.subscribe());
    this.watch(subscriber);
    subscriber.connect().catch(() => undefined);
  }

  /** Follows the current subscriber's end (the first one's, and one moved in by {@link move}). */
  private watch(subscriber: Redis): void {
    subscriber.on('close', () => {
      if (this.subscriber === subscriber) this.onSubscriberClose();
    });
    subscriber.on('end', () => {
      // It will not reconnect by itself: a new one at once if this one had worked (its server
      // went away), and once more at once if that first replacement failed too (on a Cluster it
      // went to the node that had just died, which its client still showed as ready: the next one
      // goes elsewhere); after that on the next heartbeat, so that a cluster with no node up is
      // not spun on. Until a new one subscribes, this instance hears nothing of the others' changes.
      if (this.subscriber !== subscriber || this.closed) return;
      this.subscriber = undefined;
      if (this.subscriberWorked) this.failedOpens = 0;
      else this.failedOpens++;
      if (this.failedOpens <= 1) this.open(subscriber);
    });
  }

  /**
   * Replaces the working subscriber `current` by a new one from `openSubscriber`, without a gap:
   * the new one subscribes first, and `current` is closed on the next heartbeat (a message
   * published in between reaches both, and evicting twice is harmless). Gives up quietly when the new one is no better or
   * cannot subscribe in time; the next heartbeat tries again.
   */
  private async move(current: Redis): Promise<void> {
    const next = this.options.openSubscriber?.();
    if (next === undefined) return;
    if (this.options.shouldMove?.(next) !== false) return next.disconnect();
    next.on('error', () => undefined);
    next.on('messageBuffer', this.onMessage);
    const timeoutMs = this.options.commandTimeoutMs;
    try {
      await withDeadline(next.connect(), timeoutMs, 'bus subscriber connection');
      await withDeadline(next.subscribe(this.options.channel), timeoutMs, 'SUBSCRIBE');
    } catch {
      return next.disconnect();
    }
    if (this.closed || this.subscriber !== current || !this.subscribed || next.status !== 'ready')
      return next.disconnect();
    this.subscriber = next;
    this.subscriberWorked = true;
    this.watch(next);
    this.retiring = current; // closed on the next heartbeat
  }

  private readonly duplicate = (): Redis =>
    (this.connection as Redis).duplicate({
      protocol: 2,
      autoResubscribe: false, // resubscribed by hand, after reading the new CLIENT ID
      autoResendUnfulfilledCommands: false,
      enableOfflineQueue: false,
      enableAutoPipelining: false,
      lazyConnect: true,
    });

  /** Reads the subscriber's CLIENT ID (for REDIRECT), subscribes, then points tracking at it. */
  private async subscribe(): Promise<void> {
    const subscriber = this.subscriber!;
    const epoch = this.epoch;
    const timeoutMs = this.options.commandTimeoutMs;
    try {
      const id = await this.tracking.idOf(subscriber);
      const channels = [this.options.channel, ...(id === undefined ? [] : [TRACKING_CHANNEL])];
      await withDeadline(subscriber.subscribe(...channels), timeoutMs, 'SUBSCRIBE');
      if (epoch !== this.epoch || this.closed) return;
      this.subscriberId = id;
      this.subscribed = true;
      this.subscriberWorked = true;
    } catch (err) {
      // This connection cannot subscribe (it is closing, hung, or refused): start over on a fresh one.
      if (epoch !== this.epoch || this.closed) return;
      this.warnOnce(`the bus could not subscribe (${describeError(err)}); retrying`);
      subscriber.disconnect(true);
      return;
    }
    this.lastWarning = undefined;
    this.refresh();
    await this.tracking.point();
  }

  private readonly onSubscriberClose = (): void => {
    this.epoch++;
    this.subscribed = false;
    this.subscriberId = undefined;
    this.tracking.lost(); // it redirects to a client that is gone
    this.refresh();
  };

  private readonly onConnectionReady = (): void => {
    void this.tracking.point();
  };

  private readonly onConnectionClose = (): void => {
    // Tracking lives on the connection: the new one starts without it.
    if (this.tracking.lost()) this.refresh();
  };

  private warnOnce(message: string): void {
    if (message === this.lastWarning) return;
    this.lastWarning = message;
    this.options.logger.warn(message);
  }

  /** Recomputes `connected`; a reconnection after a disconnection is a gap. */
  private refresh(): void {
    const now = this.subscribed && (this.tracking.supported === false || this.tracking.on);
    if (now === this.connected || this.closed) return;
    this.connected = now;
    if (!now) this.gapPending = true;
    else {
      for (const waiter of this.waiters) waiter();
      if (this.gapPending) {
        this.gapPending = false;
        this.options.onGap('reconnect');
      }
    }
  }

  private readonly onMessage = (channel: Buffer, payload: Buffer | Buffer[] | null): void => {
    const name = channel.toString();
    if (name === TRACKING_CHANNEL) {
      if (Array.isArray(payload)) this.options.onTrackedKeys(payload.map(String));
      else this.options.onGap('flush'); // FLUSHALL / FLUSHDB: a null list
    } else if (name === this.options.channel && Buffer.isBuffer(payload)) {
      this.options.onMessage(payload);
    }
  };

  /** PINGs the subscriber (reconnecting it when it does not answer) and checks tracking. */
  private readonly beat = (): void => {
    if (this.beating || this.closed) return;
    this.beating = true;
    void this.checkHealth().finally(() => (this.beating = false));
  };

  private async checkHealth(): Promise<void> {
    const retiring = this.retiring;
    this.retiring = undefined;
    if (retiring !== undefined) await closeConnection(retiring);
    const subscriber = this.subscriber;
    if (subscriber === undefined) return this.open();
    if (!this.subscribed) return;
    try {
      await withDeadline(subscriber.ping(), this.options.heartbeatMs, 'bus PING');
    } catch {
      if (subscriber.status !== 'ready' || this.closed || this.subscriber !== subscriber) return;
      // One of ours (a Cluster node's): replaced now, elsewhere. The default reconnects by itself.
      if (this.options.openSubscriber !== undefined) this.abandon(subscriber);
      else subscriber.disconnect(true);
      return;
    }
    if (this.tracking.supported === false && this.options.shouldMove?.(subscriber) === true)
      return this.move(subscriber);
    await this.tracking.check(this.options.heartbeatMs);
  }

  /**
   * Gives up on a subscriber whose node stopped answering (frozen, or cut off): a new one is opened
   * at once, not after the old one's socket has closed (a frozen node never closes it: ioredis
   * destroys it after its disconnect timeout). The old one's events are ignored from now on.
   */
  private abandon(subscriber: Redis): void {
    this.subscriber = undefined;
    this.onSubscriberClose();
    subscriber.disconnect();
    this.failedOpens = 0;
    this.open(subscriber);
  }

  private waitConnected(timeoutMs: number): Promise<boolean> {
    if (this.connected) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve(this.connected);
      };
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      this.waiters.add(done);
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
