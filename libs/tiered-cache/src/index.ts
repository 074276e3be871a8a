export { CacheModule } from './cache.module.js';
export { CacheService, type CacheViewConfig } from './cache.service.js';
export { CacheError, CacheErrorCode } from './cache.errors.js';
export { getCacheToken } from './cache.constants.js';
export { InjectCache } from './decorators/inject-cache.decorator.js';
export { Cached } from './decorators/cached.decorator.js';
export { InvalidateCache } from './decorators/invalidate-cache.decorator.js';
export { DEFAULT_METRICS_PREFIX } from './metrics/prometheus.metrics.js';
export { CacheInterceptor, X_CACHE } from './interceptors/cache.interceptor.js';
export {
  CacheHealthIndicator,
  type CacheHealthOptions,
  type CacheHealthResult,
  type TierHealth,
} from './health/cache-health.indicator.js';
export type {
  CachedOptions,
  InvalidateCacheOptions,
} from './interfaces/decorator-options.interface.js';
export { parseDuration, type Duration } from './core/duration.js';
export type { CacheEventMap, CacheEventName } from './core/cache-events.js';
export type { LatencyPercentiles } from './core/latency.js';
export type {
  AtomicCacheBackend,
  CacheBackend,
  CacheEntry,
  MaybePromise,
} from './interfaces/cache-backend.interface.js';
export type { AtomicByteStore, ByteStore } from './interfaces/byte-store.interface.js';
export {
  byteStoreBackend,
  type ByteStoreBackendOptions,
} from './serialization/byte-store-backend.js';
export type {
  CacheFeatureOptions,
  CacheMetricsOptions,
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
