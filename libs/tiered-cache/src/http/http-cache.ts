import { CacheError, CacheErrorCode } from '../cache.errors.js';
import { describeValue, parseDuration } from '../core/duration.js';
import type { HttpCacheOptions } from '../interfaces/decorator-options.interface.js';
import type { CachedResponse } from './cached-response.js';

/** The `Cache-Control` values of a route with `httpCache`, computed once at bootstrap. */
export interface HttpCachePlan {
  /** For answers only the browser may keep: `private, max-age=N`. */
  readonly private: string;
  /** For answers shared caches may keep too (`sharedMaxAge` given): `public, max-age=N, s-maxage=M`. */
  readonly public: string;
}

const HTTP_CACHE_KEYS = ['maxAge', 'sharedMaxAge'];

/** Checks `@Cached({ httpCache })` where the decorator is applied, naming the class and method. */
export function validateHttpCache(value: unknown, where: string): void {
  if (value === undefined) return;
  const fail = (option: string, reason: string) =>
    new CacheError(
      CacheErrorCode.E_INVALID_OPTION,
      `${where}: invalid option "${option}": ${reason}`,
    );
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw fail('httpCache', `${describeValue(value)} must be an object such as { maxAge: '1m' }`);
  for (const key of Object.keys(value)) {
    if (!HTTP_CACHE_KEYS.includes(key))
      throw fail(
        `httpCache.${key}`,
        `unknown option; known options are ${HTTP_CACHE_KEYS.join(', ')}`,
      );
  }
  const options = value as Partial<HttpCacheOptions>;
  if (options.maxAge === undefined)
    throw fail('httpCache.maxAge', "is required: how long browsers may keep the answer, e.g. '1m'");
  parseDuration(options.maxAge, `${where} httpCache.maxAge`);
  if (options.sharedMaxAge !== undefined)
    parseDuration(options.sharedMaxAge, `${where} httpCache.sharedMaxAge`);
}

/** The header values of a (validated) `httpCache` option; `undefined` without one. */
export function compileHttpCache(options: HttpCacheOptions | undefined): HttpCachePlan | undefined {
  if (options === undefined) return undefined;
  const seconds = (duration: HttpCacheOptions['maxAge']) =>
    Math.floor(parseDuration(duration, 'httpCache') / 1000);
  const browser = `private, max-age=${seconds(options.maxAge)}`;
  return {
    private: browser,
    public:
      options.sharedMaxAge === undefined
        ? browser
        : `public, max-age=${seconds(options.maxAge)}, s-maxage=${seconds(options.sharedMaxAge)}`,
  };
}

/**
 * Whether an `If-None-Match` header matches a strong ETag (weak comparison, as RFC 9110 asks of
 * `If-None-Match`: `W/"x"` matches `"x"`; `*` matches any).
 */
export function matchesEtag(ifNoneMatch: unknown, etag: string): boolean {
  if (typeof ifNoneMatch !== 'string') return false;
  if (ifNoneMatch === etag) return true;
  for (const part of ifNoneMatch.split(',')) {
    const tag = part.trim();
    if (tag === '*' || tag === etag || (tag.startsWith('W/') && tag.slice(2) === etag)) return true;
  }
  return false;
}

/** Whole seconds since an answer was stored (`now`: the cache's clock), for `Age`. */
export function ageOf(answer: CachedResponse, now: number): string {
  return String(Math.max(0, Math.floor((now - answer.storedAt) / 1000)));
}
