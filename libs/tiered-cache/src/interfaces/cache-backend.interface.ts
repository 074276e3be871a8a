/**
 * One cached entry as the tiers see it. Times are epoch milliseconds on the cache's clock.
 */
export interface CacheEntry {
  /** The cached value, as given by the caller (serializing backends store an encoded copy). */
  readonly value: unknown;
  /** Until when the entry is fresh. After it, the entry is stale and served only within `staleUntil`. */
  readonly expiresAt: number;
  /** Until when the entry may still be served stale (`expiresAt` + grace); after it, it is gone. */
  readonly staleUntil: number;
  /** Namespaced tags the entry was written with (for `deleteByTag`); empty when none. */
  readonly tags: readonly string[];
}

/** A value, or a promise of it: local backends answer synchronously, network ones asynchronously. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * The contract every backend implements, whether built in or user-supplied. Keys, patterns and tags
 * arrive fully namespaced; expiry is judged by the tier above (on `CacheEntry.staleUntil`), so a
 * backend's own TTL (`ttlMs`, always `staleUntil - now`) only needs to reclaim space.
 *
 * Backends report failures by throwing or rejecting (preferably with a `CacheError`); the tier
 * above puts every call under a deadline, counts and logs failures, and never lets one reach a
 * caller. A stored entry that cannot be decoded is deleted by the backend, which then throws a
 * `CacheError` with code `E_CORRUPT_ENTRY`. A backend that only stores bytes implements the
 * smaller `ByteStore` instead, and `byteStoreBackend` does the encoding, the size limit and the
 * corrupt-entry handling for it.
 */
export interface CacheBackend extends StoreLifecycle {
  /** True when the backend answers `get` synchronously (in-process backends). */
  readonly synchronous?: boolean;
  /** Reads one entry; `undefined` when absent. */
  get(key: string): MaybePromise<CacheEntry | undefined>;
  /** Stores one entry, replacing any previous one; `ttlMs` > 0 is how long to keep it. */
  set(key: string, entry: CacheEntry, ttlMs: number): MaybePromise<void>;
  /**
   * Removes every entry carrying any of the given (namespaced) tags; resolves to how many.
   * Optional: a tier whose backend has none keeps no entry written with tags (such a write
   * removes the key from it instead, so an older value of the key is never served), and a tag
   * delete has nothing to remove there.
   */
  deleteByTags?(tags: readonly string[]): Promise<number>;
}

/**
 * What every store does besides reading and writing, whether it keeps entries ({@link CacheBackend})
 * or bytes (`ByteStore`): invalidation (but by tag: see each), health and lifecycle. Keys, patterns
 * and tags arrive fully namespaced.
 */
export interface StoreLifecycle {
  /** Short name for logs, stats and health (`'memory'`, `'redis'`...). */
  readonly name: string;
  /** Removes the given keys; resolves to how many existed. */
  delete(keys: readonly string[]): MaybePromise<number>;
  /** Removes keys matching a Redis-style glob (`*`, `?`, `[abc]`, `\x`); resolves to how many. */
  deletePattern(glob: string): Promise<number>;
  /** Removes every entry whose key starts with `prefix`, and the tag bookkeeping under it. */
  clear(prefix: string): Promise<void>;
  /** A real round trip to the store; resolves to its latency in milliseconds. */
  ping(): Promise<number>;
  /** Releases connections, timers and handles. Safe to call twice. */
  close(): Promise<void>;
  /** Approximate number of entries, when cheap to know (health and stats). */
  size?(): number | undefined;
  /** Extra facts for health checks, cheap and never values (e.g. `{ connection: 'ready' }`). */
  details?(): Record<string, unknown>;
}

/**
 * Optional capability of a backend shared between processes (`redis-atomic`): a lease lock and
 * compare-and-set writes, used by `atomic: 'at-most-once'` and `'at-least-once'`. Its conditional
 * writes store entries with their tags, so it must delete by tag too.
 */
export interface AtomicCacheBackend extends CacheBackend {
  deleteByTags(tags: readonly string[]): Promise<number>;
  /** Takes the lease of `key` for `ttlMs`; resolves to a token, or undefined when another holds it. */
  acquireLease(key: string, ttlMs: number): Promise<string | undefined>;
  /** Releases the lease if `token` still holds it; resolves to whether it did. */
  releaseLease(key: string, token: string): Promise<boolean>;
  /** An opaque snapshot of everything that may invalidate `key`, read before computing its value. */
  readVersion(key: string): Promise<string>;
  /** Writes only if nothing invalidated `key` since `version` was read; resolves to whether it did. */
  setIfVersion(key: string, entry: CacheEntry, ttlMs: number, version: string): Promise<boolean>;
}

/** True when a backend has the {@link AtomicCacheBackend} capability. */
export function isAtomicBackend(backend: CacheBackend): backend is AtomicCacheBackend {
  const b = backend as Partial<AtomicCacheBackend>;
  return (
    typeof b.deleteByTags === 'function' &&
    typeof b.acquireLease === 'function' &&
    typeof b.releaseLease === 'function' &&
    typeof b.readVersion === 'function' &&
    typeof b.setIfVersion === 'function'
  );
}
