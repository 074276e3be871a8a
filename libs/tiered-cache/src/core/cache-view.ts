import { CacheError, CacheErrorCode } from '../cache.errors.js';
import type { CacheEntry } from '../interfaces/cache-backend.interface.js';
import type { CacheStats, TierSelection } from '../interfaces/cache-service.interface.js';
import { escapeGlob } from '../keys/glob.js';
import { KEY_SEPARATOR, wellFormedKey } from '../keys/key-encoding.js';
import { StoredKeys } from './stored-keys.js';
import { rate, type TieredCache } from './tiered-cache.js';

/** The defaults of one cache view: the root cache, or a named cache of `forFeature`. */
export interface CacheViewConfig {
  /** `undefined` for the root cache. */
  readonly name: string | undefined;
  readonly namespace: string;
  /** Default TTL, in ms. */
  readonly ttlMs: number;
  /** Default grace, in ms. */
  readonly graceMs: number;
}

/**
 * One cache (the root, or a `forFeature` cache) on the shared engine: its namespace, its defaults,
 * and its own read counters. `CacheService` is its public face; the decorators' plans hold it.
 * The counters and the `hit`/`miss`/`stale` events are updated only by `core/resolve.ts`.
 */
export class CacheView {
  /** The name in events and metrics: the forFeature name, or 'default'. */
  readonly label: string;
  /** `<namespace>:`, the start of every stored key of this cache. */
  readonly prefix: string;
  /** The prefix as a glob that matches only itself. */
  readonly globPrefix: string;
  /** Reads of this cache: fresh hits, misses, and stale values served (counted by `core/resolve.ts`). */
  readonly counters = { hits: 0, misses: 0, stale: 0 };
  /** The stored keys of recently used keys. */
  private readonly storedKeys: StoredKeys;

  constructor(
    readonly engine: TieredCache,
    readonly config: CacheViewConfig,
  ) {
    this.label = config.name ?? 'default';
    this.prefix = config.namespace + KEY_SEPARATOR;
    this.globPrefix = escapeGlob(config.namespace) + KEY_SEPARATOR;
    this.storedKeys = new StoredKeys(this.prefix);
    engine.views.add(this);
  }

  /** The stored key of `key` in this cache; throws `E_INVALID_KEY` unless it is a non-empty string. */
  fullKey(key: string): string {
    if (!isCacheKey(key)) throw invalidKey(key);
    return this.storedKey(key);
  }

  /** The stored key of a key already known to be a non-empty string. */
  storedKey(key: string): string {
    return this.storedKeys.of(key);
  }

  /** The stored (namespaced) form of a tag. */
  fullTag(tag: string): string {
    if (typeof tag !== 'string' || tag === '')
      throw new CacheError(CacheErrorCode.E_INVALID_KEY, 'a tag must be a non-empty string');
    return this.prefix + wellFormedKey(tag);
  }

  /** The stored form of several tags. */
  fullTags(tags: readonly string[]): string[] {
    return tags.map((tag) => this.fullTag(tag));
  }

  /**
   * Writes an entry to the selected tiers, then emits `set`. With a `ticket`, the entry is a
   * value computed since then, not written if the key changed meanwhile.
   */
  async store(
    key: string,
    entry: CacheEntry,
    tier: TierSelection | undefined,
    ticket?: number,
  ): Promise<void> {
    await this.engine.write(key, entry, tier, ticket);
    const events = this.engine.events;
    if (events.active.set) events.emit('set', { cache: this.label, key });
  }

  /** Emits `delete` for an invalidation made through this cache. */
  invalidated(what: { keys?: readonly string[]; pattern?: string; tags?: readonly string[] }): void;
  invalidated(what: { prefix: string }): void;
  invalidated(what: object): void {
    const events = this.engine.events;
    if (events.active.delete) events.emit('delete', { cache: this.label, ...what });
  }

  /** This cache's counters with the (shared) tiers' counters, errors and latency. */
  stats(): CacheStats {
    const { hits, misses, stale } = this.counters;
    const tiers = this.engine.tierStats();
    const errors = (tiers.local?.errors ?? 0) + (tiers.shared?.errors ?? 0);
    return { hits, misses, stale, errors, hitRate: rate(hits, misses), tiers };
  }
}

/** True when `key` can be a cache key: a non-empty string. */
export function isCacheKey(key: unknown): key is string {
  return typeof key === 'string' && key !== '';
}

/** The error of a key that is not a non-empty string. */
export function invalidKey(key: unknown): CacheError {
  return new CacheError(
    CacheErrorCode.E_INVALID_KEY,
    `a cache key must be a non-empty string, got ${typeof key === 'string' ? 'an empty string' : typeof key}`,
  );
}
