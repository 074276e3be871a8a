import type { Duration } from './duration.interface.js';
import type { TierSelection } from './cache-service.interface.js';

/**
 * Options of `@Cached`. Key templates: on routes `{id}` is a route param, `{query}` the whole query
 * sorted by name, and `{query.x}`, `{body.x}`, `{user.x}` (request.user), `{header.x}` reach the
 * rest of the request; `{user.x?}` is the viewer when there is a user, else a shared anonymous
 * entry (never for a request that carries credentials without a user). On provider methods
 * `{name}` is a parameter by name, `{0}` by position, `{dto.id}` a path into one.
 */
export interface CachedOptions {
  /** Key template. Default: a route's path and sorted query; a method's class, name and arguments. */
  key?: string;
  /** Time to live. Default: the cache's `ttl`. */
  ttl?: Duration;
  /** Tags (templates too), for `deleteByTag` and `@InvalidateCache({ tags })`. */
  tags?: string[];
  /** Which tiers to use. Default `'both'`. */
  tier?: TierSelection;
  /** How long past its TTL a stale value may be served when the origin fails or is slow. */
  grace?: Duration;
  /** Soft timeout of the origin when a stale value exists: past it the stale value is served. */
  timeout?: Duration;
  /**
   * Hard timeout of the origin: past it, the call and every call that joined it are released with
   * an `OriginTimeoutError` (a stale value within `grace` is served instead, if there is one). On a
   * route the error reaches the app's exception filters (Nest's default answers 500).
   */
  hardTimeout?: Duration;
  /** Atomic computation across processes; needs a `redis-atomic` shared tier. */
  atomic?: 'at-most-once' | 'at-least-once';
  /** Lease of `'at-most-once'`: longer than the origin can take. Default '10s'. */
  lease?: Duration;
  /** Cache `null` (and, for methods, `undefined`) results too. Default false. */
  cacheNullish?: boolean;
  /**
   * `'public'`: also serve and store requests that carry credentials (Authorization, Cookie) under
   * a key that does not name the user (`{user.*}`, `{header.authorization}`, `{header.cookie}`).
   * Only for responses that are the same for everyone.
   */
  scope?: 'public';
  /** HTTP methods cached on a route. Default `['GET', 'HEAD']`. */
  methods?: string[];
  /** Name of a `forFeature` cache to use instead of the root cache. */
  cache?: string;
  /**
   * Routes only: let browsers (and, with `sharedMaxAge`, CDNs and proxies) keep the answer too,
   * with `Cache-Control` and, on hits, `Age` headers. Without it, answers carry no `Cache-Control`.
   */
  httpCache?: HttpCacheOptions;
}

/**
 * `@Cached({ httpCache })` on a route: the `Cache-Control` of its cached answers. Durations are
 * sent in whole seconds (rounded down).
 */
export interface HttpCacheOptions {
  /**
   * How long a browser may keep the answer: `Cache-Control: private, max-age=N`. `0` makes it
   * revalidate every time (with `If-None-Match`, answered `304` by a hit).
   */
  maxAge: Duration;
  /**
   * How long shared caches (CDNs, proxies) may keep it: the answer becomes
   * `public, max-age=N, s-maxage=M`, except for requests with credentials and routes whose key
   * names the user, which stay `private`. Only for answers that are the same for every anonymous
   * user.
   */
  sharedMaxAge?: Duration;
}

/** Options of `@InvalidateCache`: what to remove after the method succeeds (all templates). */
export interface InvalidateCacheOptions {
  /** Keys to delete. */
  keys?: string[];
  /** Redis-style globs to delete; substituted values are escaped, so they can never widen a pattern. */
  patterns?: string[];
  /** Tags whose entries are deleted. */
  tags?: string[];
  /** Name of a `forFeature` cache to use instead of the root cache. */
  cache?: string;
}
