import type { Duration } from '../interfaces/duration.interface.js';
import type { TierCommonOptions } from '../interfaces/tier-common-options.interface.js';
import type {
  RedisClientLike,
  RedisClientOptions,
  RedisClusterNode,
} from '../interfaces/redis-client.interface.js';

/** Redis Sentinel connection settings. */
export interface RedisSentinelOptions {
  /** Sentinel addresses. */
  sentinels: Array<{ host: string; port: number }>;
  /** Name of the monitored master. */
  name: string;
}

/**
 * Options of a `redis` or `redis-atomic` tier: exactly one of `url`, `client`, `cluster` or
 * `sentinel`. ioredis is described by shape (it is an optional
 * peer), so these types compile without it.
 */
export interface RedisTierOptions extends TierCommonOptions {
  /** `redis` stores and reads; `redis-atomic` adds compare-and-set writes and lease locks. */
  backend: 'redis' | 'redis-atomic';
  /** `redis://[user:pass@]host:port[/db]` or `rediss://` for TLS. */
  url?: string;
  /** An existing ioredis client or cluster; the cache does not close it. */
  client?: RedisClientLike;
  /** Redis Cluster seed nodes. */
  cluster?: { nodes: RedisClusterNode[]; options?: RedisClientOptions };
  /** Redis Sentinel. */
  sentinel?: RedisSentinelOptions;
  /** Extra ioredis options for connections the cache opens (merged over the cache's safe defaults). */
  redisOptions?: RedisClientOptions;
  /** How long bootstrap waits for the first connection before going on without it. Default '2s'. */
  connectTimeout?: Duration;
  /** Largest entry read or written, in bytes; larger ones are refused before parsing. Default 64 MiB. */
  maxEntryBytes?: number;
}

/** How to reach Redis: exactly one of `url`, `client`, `cluster` or `sentinel`, as in a tier's options. */
export type RedisTarget = Pick<
  RedisTierOptions,
  'url' | 'client' | 'cluster' | 'sentinel' | 'redisOptions'
>;

/** The resolved settings of a `redis` or `redis-atomic` tier. */
export interface RedisSettings {
  /** True for `redis-atomic`: leases and compare-and-set writes. */
  readonly atomic: boolean;
  /** How to reach Redis. */
  readonly target: RedisTarget;
  /** How long bootstrap waits for the first connection, in ms. */
  readonly connectTimeoutMs: number;
  /** Largest entry read or written, in bytes. */
  readonly maxEntryBytes: number;
}
