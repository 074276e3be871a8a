import type { LoggerService } from '@nestjs/common';
import type { BuiltInTierOptions } from '../backends/built-in-backends.js';
import type { CacheBackend } from './cache-backend.interface.js';
import type { Duration } from './duration.interface.js';
import type { TierCommonOptions } from './tier-common-options.interface.js';

export type { TierCommonOptions } from './tier-common-options.interface.js';
export type { MemoryTierOptions } from '../backends/memory.backend.js';
export type { MemoryNoSerializerTierOptions } from '../backends/memory-no-serializer.backend.js';
export type { RedisSentinelOptions, RedisTierOptions } from '../backends/redis-options.js';
export type { FilesystemTierOptions } from '../backends/filesystem.backend.js';
export type { NullTierOptions } from '../backends/null.backend.js';

/** A user-supplied backend: an instance, or a class constructed with these options. */
export interface CustomTierOptions extends TierCommonOptions {
  backend: CacheBackend | (new (options: CustomTierOptions) => CacheBackend);
  /** Anything the custom backend's constructor wants. */
  [option: string]: unknown;
}

/**
 * The options of one tier, told apart by `backend`: those of every built-in backend (each declared
 * in its backend's file, collected by `BUILT_IN_BACKENDS`), or a custom backend's.
 */
export type TierOptions = BuiltInTierOptions | CustomTierOptions;

/** Options of `CacheModule.forRoot` / `forRootAsync`. */
export interface CacheModuleOptions {
  /**
   * `true` provides `CacheService` and `CacheHealthIndicator` to every module. Default false.
   * An option of `forRoot` and `forRootAsync` themselves: in what a `forRootAsync` factory
   * returns it comes too late to matter.
   */
  isGlobal?: boolean;
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
  /**
   * The invalidation bus that keeps the L1 of every instance coherent through Redis: on by default
   * whenever a local tier sits in front of a Redis shared tier (single node or Sentinel). `false`
   * turns it off; an object names the pub/sub channel or turns Redis tracking off.
   */
  bus?: boolean | CacheBusOptions;
}

/** Options of the invalidation bus. */
export interface CacheBusOptions {
  /** Pub/sub channel of explicit messages. Default `ntc:bus:<namespace>`. */
  channel?: string;
  /**
   * Use Redis server-assisted client-side caching (`CLIENT TRACKING ... BCAST`) when the server
   * accepts it, so that a change made to a cached key by any Redis client also evicts the L1
   * copies. Default true; false sends every invalidation as an explicit message.
   */
  tracking?: boolean;
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
