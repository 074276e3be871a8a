/**
 * Injection token of the cache manager, the string `@nestjs/cache-manager` uses, so that code
 * injecting `@Inject(CACHE_MANAGER)` or `@Inject('CACHE_MANAGER')` keeps working.
 */
export const CACHE_MANAGER = 'CACHE_MANAGER';
/** Metadata key of `@CacheKey` (the one `@nestjs/cache-manager` uses). */
export const CACHE_KEY_METADATA = 'cache_module:cache_key';
/** Metadata key of `@CacheTTL` (the one `@nestjs/cache-manager` uses). */
export const CACHE_TTL_METADATA = 'cache_module:cache_ttl';

/**
 * How long an entry without expiry is kept, in ms: cache-manager's "no TTL" (`ttl` absent or 0).
 * A year, or until the tiers evict it.
 */
export const NO_EXPIRY_MS = 365 * 86_400_000;

/** A cache-manager TTL (ms; `undefined` or 0: no expiry) as this library's duration (seconds). */
export function secondsOf(ttlMs: number | undefined): number {
  return (ttlMs === undefined || ttlMs === 0 ? NO_EXPIRY_MS : Math.ceil(ttlMs)) / 1000;
}
