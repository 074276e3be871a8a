/**
 * `nest-tiered-cache/compat`: what `@nestjs/cache-manager` exports, on the tiers of
 * `nest-tiered-cache`, so that an application moves by changing its imports from
 * `@nestjs/cache-manager` to `nest-tiered-cache/compat`. TTLs are in milliseconds here, as there.
 */
export {
  CACHE_KEY_METADATA,
  CACHE_MANAGER,
  CACHE_TTL_METADATA,
  NO_EXPIRY_MS,
} from './cache-manager.constants.js';
export {
  Cache,
  type CacheManagerEntry,
  type RawEntry,
  type WrapOptions,
  type WrapOptionsRaw,
  type WrapTtl,
} from './cache-manager.js';
export { CacheModule } from './cache-manager.module.js';
export type {
  CacheModuleAsyncOptions,
  CacheModuleOptions,
  CacheOptionsFactory,
} from './cache-manager-options.js';
export { CacheInterceptor } from './cache-manager.interceptor.js';
export {
  CacheKey,
  CacheTTL,
  type CacheKeyFactory,
  type CacheTTLFactory,
} from './cache-manager.decorators.js';
