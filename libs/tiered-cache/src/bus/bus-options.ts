import { randomBytes } from 'node:crypto';
import { Logger, type LoggerService } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { CacheError, CacheErrorCode } from '../cache.errors.js';

/** Options of an {@link InvalidationBus} (see `invalidation-bus.ts`). */
export interface InvalidationBusOptions {
  /**
   * The engine's Redis connection (a single node, a master found through Sentinel, or a Cluster).
   * The bus publishes on it and, in tracking mode, enables tracking on it with NOLOOP, so this
   * instance's own writes through it are not echoed back. It must be the connection the Redis
   * tier writes with. The bus opens one more connection of its own (a duplicate) to subscribe; on
   * a Cluster, a connection to one of its nodes, and explicit messages only (no tracking).
   */
  connection: Redis | Cluster;
  /** The engine's root namespace: Redis keys are `<namespace>:…`; other namespaces are ignored. */
  namespace: string;
  /** Pub/sub channel of explicit messages. Default `ntc:bus:<namespace>`. */
  channel?: string;
  /**
   * Use Redis server-assisted client-side caching (CLIENT TRACKING, BCAST, prefix `<namespace>:`)
   * when the server accepts it, so a change made to a cached key by anyone reaches the handler.
   * Default true; false sends everything as explicit pub/sub messages.
   */
  tracking?: boolean;
  /** This instance's id in messages (its own are dropped). Default: 8 random characters. */
  instanceId?: string;
  /**
   * Most invalidation items (keys, tags, globs, prefixes) waiting to be published. When full, the
   * queue is replaced by one clear of the namespace. Default 10,000.
   */
  maxQueued?: number;
  /** Deadline of one PUBLISH, in ms; a late one is retried. Default 1,000. */
  publishTimeoutMs?: number;
  /**
   * Interval of the subscriber's PING, in ms; a PING unanswered within it reconnects the subscriber
   * (a gap). In tracking mode the same beat checks that tracking is still redirected. Default 1,000.
   */
  heartbeatMs?: number;
  /** How long `start()` waits for the subscription, in ms. Default 2,000. */
  connectTimeoutMs?: number;
  /** Where warnings go. Default a Nest `Logger` named `InvalidationBus`. */
  logger?: LoggerService;
}

/** {@link InvalidationBusOptions} with every default applied. */
export type ResolvedBusOptions = Required<InvalidationBusOptions>;

/** Validates the options and applies the defaults; throws `E_INVALID_OPTION` naming the culprit. */
export function resolveBusOptions(options: InvalidationBusOptions): ResolvedBusOptions {
  const { connection, namespace } = options;
  if (connection === null || typeof connection !== 'object' || !('duplicate' in connection))
    throw invalid('connection', 'must be an ioredis Redis or Cluster client');
  if (typeof namespace !== 'string' || namespace === '')
    throw invalid('namespace', 'must be a non-empty string (the cache namespace)');
  const channel = options.channel ?? `ntc:bus:${namespace}`;
  if (typeof channel !== 'string' || channel === '')
    throw invalid('channel', 'must be a non-empty string');
  const instanceId = options.instanceId ?? randomBytes(6).toString('base64url');
  if (typeof instanceId !== 'string' || instanceId === '')
    throw invalid('instanceId', 'must be a non-empty string');
  return {
    connection,
    namespace,
    channel,
    instanceId,
    tracking: options.tracking ?? true,
    maxQueued: positive('maxQueued', options.maxQueued, 10_000),
    publishTimeoutMs: positive('publishTimeoutMs', options.publishTimeoutMs, 1_000),
    heartbeatMs: positive('heartbeatMs', options.heartbeatMs, 1_000),
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, 2_000),
    logger: options.logger ?? new Logger('InvalidationBus'),
  };
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw invalid(name, `must be a positive number, got ${String(value)}`);
  return value;
}

function invalid(name: string, what: string): CacheError {
  return new CacheError(CacheErrorCode.E_INVALID_OPTION, `bus option "${name}" ${what}`);
}
