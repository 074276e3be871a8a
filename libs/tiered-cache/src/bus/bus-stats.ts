import type { BusInvalidation } from './bus-message.js';

/** How invalidations reach this instance: Redis tracking plus explicit messages, or messages only. */
export type BusMode = 'tracking' | 'pubsub';

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

/** Options of {@link EngineBus.publish}. */
export interface EnginePublishOptions {
  /** True when exactly these keys were just changed in Redis through the engine's connection. */
  redisChanged?: boolean;
}

/**
 * What the engine needs of an invalidation bus (implemented by `InvalidationBus`). Declared apart
 * from it so that the engine's types never reach the optional ioredis peer.
 */
export interface EngineBus {
  publish(invalidation: BusInvalidation, options?: EnginePublishOptions): Promise<void> | undefined;
  /**
   * For a write of `invalidation`'s keys just sent on the engine's connection, not answered yet:
   * queues its message now when one is needed and can follow the write on that connection. The
   * promise is as {@link publish}'s; undefined when this does not apply (publish once it is done).
   */
  publishBehindWrite?(invalidation: BusInvalidation): Promise<void> | undefined;
  /**
   * Brackets a command on the engine's connection whose answer will be followed by a
   * {@link publish} (or whose {@link publishBehindWrite} message will be): `1` before it is sent,
   * `-1` once it settled. While such answers are due, the bus starts its fence as soon as answers
   * arrive (see `InvalidationBus.fence`).
   */
  answersDue(change: 1 | -1): void;
  onRemoteInvalidation(handler: (invalidation: BusInvalidation) => void): () => void;
  onGap(handler: (reason: string) => void): () => void;
  stats(): BusStats;
  close(): Promise<void>;
}
