import type { LoggerService } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { describeError } from '../cache.errors.js';
import { withDeadline } from '../core/deadline.js';
import {
  disableTracking,
  enableTracking,
  trackingIntact,
  trackingRefused,
} from './redis-tracking.js';

/** What a {@link TrackingRedirect} works on, and whom it tells. */
export interface TrackingRedirectOptions {
  /** The engine's connection, tracking is enabled on (a single node's: never a Cluster). */
  readonly connection: Redis | Cluster;
  /** Tracked key prefix (`<namespace>:`), or undefined not to try tracking at all. */
  readonly prefix: string | undefined;
  /** Deadline of each command, in ms. */
  readonly commandTimeoutMs: number;
  readonly logger: LoggerService;
  /** The CLIENT ID to redirect to: the bus subscriber's while it is subscribed, else undefined. */
  readonly target: () => number | undefined;
  /** `on` changed after an attempt to point tracking (either way). */
  readonly changed: () => void;
  /** Logs a warning unless it is the same as the last one (a retry loop logs a failure once). */
  readonly warnOnce: (message: string) => void;
}

/**
 * The server-assisted half of the bus: BCAST tracking of the namespace on the engine's connection,
 * redirected to the bus's subscriber. Knows whether the server supports it at all and whether it
 * is on now; tracking lives on a connection, so it is lost whenever either connection goes away,
 * and is pointed again once both are back (by {@link point}, on the heartbeat's {@link check}).
 */
export class TrackingRedirect {
  /** Undefined until the server accepted or refused tracking once. */
  supported: boolean | undefined;
  /** On, and redirected to the target it was pointed at. */
  on = false;
  private pointing = false;
  private closed = false;

  constructor(private readonly options: TrackingRedirectOptions) {
    if (options.prefix === undefined) this.supported = false;
  }

  /**
   * The CLIENT ID of `subscriber`, to redirect tracking to; undefined when tracking is not
   * supported (a server that refuses the command is noted, and logged once). Rejects when the
   * connection fails.
   */
  async idOf(subscriber: Redis): Promise<number | undefined> {
    if (this.supported === false) return undefined;
    try {
      const id = subscriber.call('CLIENT', 'ID');
      return Number(await withDeadline(id, this.options.commandTimeoutMs, 'CLIENT ID'));
    } catch (err) {
      if (!trackingRefused(err)) throw err;
      this.refuse(err);
      return undefined;
    }
  }

  /** Enables tracking redirected to the target, unless it is on, unsupported, or has no target yet. */
  async point(): Promise<void> {
    if (this.supported === false || this.on || this.pointing || this.closed) return;
    const { connection, prefix, commandTimeoutMs } = this.options;
    const id = this.options.target();
    if (id === undefined || connection.status !== 'ready') return;
    this.pointing = true;
    try {
      await enableTracking(connection as Redis, id, prefix!, commandTimeoutMs);
      if (this.closed) return;
      this.supported = true;
      this.on = this.options.target() === id;
    } catch (err) {
      if (this.supported === undefined && trackingRefused(err)) this.refuse(err);
      // otherwise (disconnected, timeout, redirect target gone) the heartbeat tries again
      else
        this.options.warnOnce(
          `the bus could not enable tracking (${describeError(err)}); retrying`,
        );
    } finally {
      this.pointing = false;
    }
    this.options.changed();
    const now = this.options.target();
    if (!this.on && now !== undefined && now !== id) await this.point();
  }

  /** Tracking is gone (its target or the tracked connection closed); true when it was on. */
  lost(): boolean {
    const was = this.on;
    this.on = false;
    return was;
  }

  /**
   * The heartbeat's check: points tracking when it is off, and again when the server says it was
   * switched off or redirected elsewhere behind our back (CLIENT TRACKINGINFO).
   */
  async check(timeoutMs: number): Promise<void> {
    if (this.supported !== true) return;
    if (!this.on) return this.point();
    const id = this.options.target();
    if (id === undefined) return;
    const intact = await trackingIntact(this.options.connection as Redis, id, timeoutMs);
    if (intact !== false || !this.on || this.options.target() !== id) return;
    this.on = false;
    this.options.changed();
    await this.point();
  }

  /** Switches tracking off (best effort) and points it no more. */
  async close(): Promise<void> {
    this.closed = true;
    const { connection, commandTimeoutMs } = this.options;
    if (this.on) await disableTracking(connection as Redis, commandTimeoutMs);
    this.on = false;
  }

  private refuse(err: unknown): void {
    this.supported = false;
    this.on = false;
    this.options.logger.warn(
      `Redis refused CLIENT TRACKING (${describeError(err)}); the bus sends explicit pub/sub ` +
        'messages only, so changes made to cached keys outside this library do not evict L1 copies',
    );
  }
}
