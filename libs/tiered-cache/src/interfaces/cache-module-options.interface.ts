import type { LoggerService } from '@nestjs/common';
import type { Duration } from './duration.interface.js';
import type { CacheBackend } from './cache-backend.interface.js';
import type {
  RedisClientLike,
  RedisClientOptions,
  RedisClusterNode,
} from './redis-client.interface.js';

/** Options every tier accepts, whatever its backend. */
export interface TierCommonOptions {
  /** Cap on how long an entry lives in this tier (an L1 usually keeps entries shorter than L2). */
  ttl?: Duration;
  /** Deadline for one call to this tier; a slower call counts as an error and becomes a miss. */
  timeout?: Duration;
  /** For health checks: when false, this tier being down reports `degraded` instead of `down`. Default true. */
  required?: boolean;
}

/** In-process LRU; values are serialized on write, so callers never share mutable objects. */
export interface MemoryTierOptions extends TierCommonOptions {
  backend: 'memory';
  /** Most entries kept before the least recently used is evicted. Default 10 000. */
  maxEntries?: number;
  /** Optional ceiling on the encoded bytes kept (keys included). */
  maxBytes?: number;
}

/** In-process LRU that keeps the very object it was given (fastest; mutations are shared). */
export interface MemoryNoSerializerTierOptions extends TierCommonOptions {
  backend: 'memory-no-serializer';
  /** Most entries kept before the least recently used is evicted. Default 10 000. */
  maxEntries?: number;
}

/** Redis Sentinel connection settings. */
export interface RedisSentinelOptions {
  /** Sentinel addresses. */
  sentinels: Array<{ host: string; port: number }>;
  /** Name of the monitored master. */
  name: string;
}

/** Redis through ioredis. Exactly one of `url`, `client`, `cluster` or `sentinel`. */
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

/** One file per entry under `dir`; survives restarts. */
export interface FilesystemTierOptions extends TierCommonOptions {
  backend: 'filesystem';
  /** Directory of the entries; created when missing. */
  dir: string;
  /** Most entries kept; the pruner removes the ones closest to expiry beyond it. Default 10 000. */
  maxEntries?: number;
  /** How often expired files are pruned, off the request path. Default '1m'. */
  pruneInterval?: Duration;
  /** Largest entry read or written, in bytes. Default 64 MiB. */
  maxEntryBytes?: number;
}

/** Every read misses, every write is dropped. */
export interface NullTierOptions extends TierCommonOptions {
  backend: 'null';
}

/** A user-supplied backend: an instance, or a class constructed with these options. */
export interface CustomTierOptions extends TierCommonOptions {
  backend: CacheBackend | (new (options: CustomTierOptions) => CacheBackend);
  /** Anything the custom backend's constructor wants. */
  [option: string]: unknown;
}

/** The options of one tier, told apart by `backend`. */
export type TierOptions =
  | MemoryTierOptions
  | MemoryNoSerializerTierOptions
  | RedisTierOptions
  | FilesystemTierOptions
  | NullTierOptions
  | CustomTierOptions;

/** Options of `CacheModule.forRoot` / `forRootAsync`. */
export interface CacheModuleOptions {
  /** Prefix of every key (`<namespace>:<key>`); bump it to version the cache. Default `'cache'`. */
  namespace?: string;
  /** Default TTL of entries. Default `'1m'`. */
  ttl?: Duration;
  /** Default grace: how long past its TTL an entry may be served stale when the origin fails. Default 0. */
  grace?: Duration;
  /** L1, in-process. With neither tier given, the default is `{ backend: 'memory' }`. */
  local?: TierOptions;
  /** L2, shared between processes. */
  shared?: TierOptions;
  /** `false` turns every tier into `null` and opens no connection. Default true. */
  enabled?: boolean;
  /** Logger for the cache's own messages. Default: Nest's `Logger` with context `TieredCache`. */
  logger?: LoggerService;
  /** Clock in epoch milliseconds, for tests. Default `Date.now`. */
  clock?: () => number;
  /**
   * Prometheus metrics through `prom-client` (an optional peer): `true` registers them on its
   * default registry; or give a `registry` and/or a metric name `prefix` (default `nest_tiered_cache_`).
   */
  metrics?: boolean | CacheMetricsOptions;
}

/** Options of the Prometheus metrics. */
export interface CacheMetricsOptions {
  /** A prom-client `Registry`. Default: prom-client's default registry. */
  registry?: unknown;
  /** Prefix of every metric name. Default `nest_tiered_cache_`. */
  prefix?: string;
}

/** Options of `CacheModule.forFeature`: a named view of the root cache with its own defaults. */
export interface CacheFeatureOptions {
  /** Name used with `@InjectCache(name)` and `@Cached({ cache: name })`. */
  name: string;
  /** Namespace of this cache. Default `<root namespace>:<name>`. */
  namespace?: string;
  /** Default TTL of this cache. Default: the root's. */
  ttl?: Duration;
  /** Default grace of this cache. Default: the root's. */
  grace?: Duration;
}
