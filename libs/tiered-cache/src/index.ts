export { CacheModule } from './cache.module.js';
export { CacheService } from './cache.service.js';
export { CacheError, CacheErrorCode, OriginTimeoutError } from './cache.errors.js';
export { getCacheToken } from './cache.constants.js';
export { InjectCache } from './decorators/inject-cache.decorator.js';
export {
  Cached,
  type AsyncMethod,
  type CachedMethodDecorator,
} from './decorators/cached.decorator.js';
export { InvalidateCache } from './decorators/invalidate-cache.decorator.js';
export { DEFAULT_METRICS_PREFIX } from './metrics/prometheus.metrics.js';
export { CacheInterceptor, X_CACHE } from './interceptors/cache.interceptor.js';
export { CachedResponse } from './http/cached-response.js';
export type { CachedRoute, HttpRequestLike } from './explorer/cache-plans.js';
export {
  CacheHealthIndicator,
  type CacheHealthOptions,
  type CacheHealthResult,
  type CacheHealthStatus,
  type TierHealth,
  type BusHealth,
} from './health/cache-health.indicator.js';
export type {
  CachedOptions,
  HttpCacheOptions,
  InvalidateCacheOptions,
} from './interfaces/decorator-options.interface.js';
export type { Duration, DurationPart, DurationUnit } from './interfaces/duration.interface.js';
export { duration } from './duration.js';
export type { CacheEventMap, CacheEventName } from './interfaces/cache-events.interface.js';
export type {
  AtomicCacheBackend,
  CacheBackend,
  CacheEntry,
  MaybePromise,
  StoreLifecycle,
} from './interfaces/cache-backend.interface.js';
export type { AtomicByteStore, ByteStore } from './interfaces/byte-store.interface.js';
export {
  byteStoreBackend,
  type ByteStoreBackendOptions,
} from './serialization/byte-store-backend.js';
export type {
  CacheFeatureOptions,
  CacheMetricsOptions,
  CacheBusOptions,
  CacheModuleOptions,
  CustomTierOptions,
  FilesystemTierOptions,
  MemoryNoSerializerTierOptions,
  MemoryTierOptions,
  NullTierOptions,
  RedisSentinelOptions,
  RedisTierOptions,
  TierCommonOptions,
  TierOptions,
} from './interfaces/cache-module-options.interface.js';
export type {
  CacheStats,
  GetOrSetOptions,
  LatencyPercentiles,
  SetOptions,
  TierSelection,
  TierStats,
  WarmEntry,
  WarmOptions,
  WarmReport,
} from './interfaces/cache-service.interface.js';
export { encodeKeyPart, hashKey } from './keys/key-encoding.js';
export { escapeGlob, globToRegExp } from './keys/glob.js';
export { MemoryBackend } from './backends/memory.backend.js';
export { MemoryNoSerializerBackend } from './backends/memory-no-serializer.backend.js';
export { NullBackend } from './backends/null.backend.js';
