/** Injection token of the root engine shared by every cache view (internal). */
export const CACHE_ENGINE = Symbol('nest-tiered-cache:engine');
/** Injection token of the resolved root options (internal). */
export const CACHE_RESOLVED_OPTIONS = Symbol('nest-tiered-cache:resolved-options');

/** Metadata key of `@Cached` options on a method. */
export const CACHED_METADATA = Symbol('nest-tiered-cache:cached');
/** Metadata key of `@InvalidateCache` options on a method. */
export const INVALIDATE_METADATA = Symbol('nest-tiered-cache:invalidate');

/** Injection token of the named cache `name` registered by `CacheModule.forFeature`. */
export function getCacheToken(name: string): symbol {
  return Symbol.for(`nest-tiered-cache:cache:${name}`);
}
