import { SetMetadata, type CustomDecorator, type ExecutionContext } from '@nestjs/common';
import { CACHE_KEY_METADATA, CACHE_TTL_METADATA } from './cache-manager.constants.js';

/** A key computed from the request: `@CacheKey((context) => ...)`. */
export type CacheKeyFactory = (
  context: ExecutionContext,
) => string | undefined | Promise<string | undefined>;

/** A TTL (ms) computed from the request: `@CacheTTL((context) => ...)`. */
export type CacheTTLFactory = (context: ExecutionContext) => number | Promise<number>;

/**
 * The key `CacheInterceptor` stores a route's answer under, instead of its URL (as in
 * `@nestjs/cache-manager`: used as given, for any HTTP method; and the key of WebSocket and
 * microservice handlers).
 */
export const CacheKey = (key: string | CacheKeyFactory): CustomDecorator<string> =>
  SetMetadata(CACHE_KEY_METADATA, key);

/**
 * The TTL of a route's (or a controller's routes') cached answers, in **milliseconds** as in
 * `@nestjs/cache-manager`; 0: no expiry.
 */
export const CacheTTL = (ttl: number | CacheTTLFactory): CustomDecorator<string> =>
  SetMetadata(CACHE_TTL_METADATA, ttl);
