/** The events a cache emits, and what each carries. Keys are the stored (namespaced) keys. */
export interface CacheEventMap {
  /** A read found a fresh value. `cache` is the forFeature name, or 'default'. */
  hit: { cache: string; key: string };
  /** A read found nothing fresh. */
  miss: { cache: string; key: string };
  /** A stale value was served (grace). */
  stale: { cache: string; key: string };
  /** A value was written. */
  set: { cache: string; key: string };
  /** An invalidation: keys, a pattern, tags, or a whole namespace. */
  delete: {
    cache: string;
    keys?: readonly string[];
    pattern?: string;
    tags?: readonly string[];
    prefix?: string;
  };
  /** A tier failed (counted, and served around). Never carries a value. */
  error: { tier: 'local' | 'shared'; backend: string; code: string };
}

/** The name of a cache event. */
export type CacheEventName = keyof CacheEventMap;
