import type { ModuleMetadata, Provider, Type } from '@nestjs/common';
import { invalidOption } from '../core/option-checks.js';
import { describeValue } from '../core/duration.js';
import type { CacheModuleOptions as TieredCacheModuleOptions } from '../interfaces/cache-module-options.interface.js';
import { secondsOf } from './cache-manager.constants.js';

/**
 * Options of the compat `CacheModule.register`: `@nestjs/cache-manager`'s `ttl` (milliseconds;
 * absent or 0: no expiry) and `isGlobal`, and every option of `nest-tiered-cache`'s
 * `CacheModule.forRoot` (`namespace`, `local`, `shared`, `enabled`...) but its `ttl`. With neither
 * tier given the cache is one in-process `memory` tier, like cache-manager's default store.
 */
export interface CacheModuleOptions extends Omit<TieredCacheModuleOptions, 'ttl'> {
  /** Default time to live, in **milliseconds** as in cache-manager; absent or 0: no expiry. */
  ttl?: number;
}

/** A class that gives the options (`registerAsync({ useClass })`), as in `@nestjs/cache-manager`. */
export interface CacheOptionsFactory {
  createCacheOptions(): CacheModuleOptions | Promise<CacheModuleOptions>;
}

/** Options of the compat `CacheModule.registerAsync`, as in `@nestjs/cache-manager`. */
export interface CacheModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory?: (...args: never[]) => CacheModuleOptions | Promise<CacheModuleOptions>;
  inject?: Array<string | symbol | Type | Function>;
  useClass?: Type<CacheOptionsFactory>;
  useExisting?: Type<CacheOptionsFactory>;
  /** Providers the factory may inject. */
  extraProviders?: Provider[];
  /** `true`: `CACHE_MANAGER` (and `CacheService`) everywhere. */
  isGlobal?: boolean;
}

/** cache-manager options with no counterpart here, and what to do instead. */
const CACHE_MANAGER_ONLY: Readonly<Record<string, string>> = {
  stores:
    "Keyv stores are not used: entries live in this library's tiers; give shared: { backend: 'redis', url } (and local: { backend: 'memory' }) instead",
  refreshThreshold:
    'not supported: an entry is computed again once it expires; CacheService.getOrSet with grace and timeout serves a stale value while it refreshes',
  nonBlocking: 'not supported: writes go to every tier before they resolve',
  refreshAllStores: 'not supported: a value found in the shared tier is copied into the local one',
  cacheId: 'not supported: the namespace tells caches apart',
};

/** The compat options as `nest-tiered-cache` module options; throws naming a bad option. */
export function toTieredOptions(options: CacheModuleOptions | undefined): TieredCacheModuleOptions {
  if (typeof options !== 'object' || options === null)
    throw invalidOption('options', 'must be an object');
  for (const key of Object.keys(options)) {
    const reason = CACHE_MANAGER_ONLY[key];
    if (reason !== undefined) throw invalidOption(key, reason);
  }
  const { ttl, ...rest } = options;
  if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 0)) {
    throw invalidOption(
      'ttl',
      `${describeValue(ttl)} must be a number of milliseconds >= 0 (0: no expiry), as in cache-manager`,
    );
  }
  return { ...rest, ttl: secondsOf(ttl) };
}
