import { CacheError, CacheErrorCode } from './cache.errors.js';
import type { CacheEventMap, CacheEventName } from './core/cache-events.js';
import { CacheView, invalidKey, isCacheKey, type CacheViewConfig } from './core/cache-view.js';
import { parseDuration, parsePositiveDuration } from './core/duration.js';
import { entryOf, originPlan, type Origin, type Outcome } from './core/origin-plan.js';
import { isFresh, lookup } from './core/lookup.js';
import { read, resolve } from './core/resolve.js';
import type { TieredCache } from './core/tiered-cache.js';
import { warmUp } from './core/warm-up.js';
import type { CacheEntry } from './interfaces/cache-backend.interface.js';
import type {
  CacheStats,
  GetOrSetOptions,
  SetOptions,
  WarmEntry,
  WarmOptions,
  WarmReport,
} from './interfaces/cache-service.interface.js';
import { NO_TAGS } from './serialization/entry-codec.js';
import { keyRef } from './keys/key-encoding.js';
import { longKeyPattern, storedPattern } from './keys/stored-key.js';

/**
 * The cache API: the root cache is injected by type (`constructor(private cache: CacheService)`),
 * a named one with `@InjectCache(name)`. Every key is stored as `<namespace>:<key>`. Backend failures
 * never reach the caller: a failing read is a miss and a failing write is skipped (both counted and logged).
 */
export class CacheService {
  private readonly view: CacheView;

  /** @internal Built by `CacheModule` (one per root or `forFeature` cache). */
  constructor(engine: TieredCache, config: CacheViewConfig) {
    this.view = new CacheView(engine, config);
  }

  /** The name given to `forFeature`, or undefined for the root cache. */
  get name(): string | undefined {
    return this.view.config.name;
  }

  /** The namespace every key of this cache is stored under. */
  get namespace(): string {
    return this.view.config.namespace;
  }

  /** The fresh value of `key`, or undefined. An L1 hit resolves without any further await. */
  get<T>(key: string): Promise<T | undefined> {
    if (!isCacheKey(key)) return Promise.reject(invalidKey(key));
    const found = read(this.view, this.view.storedKey(key));
    if (found instanceof Promise) return found.then(valueOf<T>);
    return Promise.resolve(found === undefined ? undefined : (found.value as T));
  }

  /** Stores `value` under `key` (in both tiers unless `tier` says otherwise). `undefined` is not stored. */
  async set(key: string, value: unknown, options?: SetOptions): Promise<void> {
    const full = this.view.fullKey(key);
    if (value === undefined) return;
    const plan = originPlan(this.view.config, options, tagsOf(this.view, options));
    await this.view.store(full, entryOf(value, plan, this.view.engine.clock()), options?.tier);
  }

  /**
   * The value of `key`, computed by `factory` on a miss and stored. Concurrent misses of one key in
   * this process run the factory once. With `grace`, a stale value is returned when the factory
   * throws, or (with `timeout`) when it is slower than `timeout`; the refresh then finishes in the
   * background. A factory result of `undefined` is returned but not stored.
   */
  getOrSet<T>(key: string, factory: () => T | Promise<T>, options?: GetOrSetOptions): Promise<T> {
    if (!isCacheKey(key)) return Promise.reject(invalidKey(key));
    const call: FactoryCall = { view: this.view, factory, options };
    const found = resolve(this.view, this.view.storedKey(key), FACTORY, call);
    if (found instanceof Promise) return found.then(outcomeValue<T>);
    return Promise.resolve(found.value as T);
  }

  /** True when `key` has a fresh value. */
  async has(key: string): Promise<boolean> {
    return (await this.peek(key)) !== undefined;
  }

  /** Seconds (with millisecond precision) until `key` stops being fresh; undefined when absent. */
  async ttl(key: string): Promise<number | undefined> {
    const found = await this.peek(key);
    const left = found === undefined ? 0 : found.expiresAt - this.view.engine.clock();
    return left > 0 ? left / 1000 : undefined;
  }

  /** The fresh values of several keys, in order (undefined for each miss). */
  mget<T>(keys: readonly string[]): Promise<(T | undefined)[]> {
    return Promise.all(keys.map((key) => this.get<T>(key)));
  }

  /** Stores several entries at once. */
  async mset(entries: ReadonlyArray<readonly [string, unknown, SetOptions?]>): Promise<void> {
    await Promise.all(entries.map(([key, value, options]) => this.set(key, value, options)));
  }

  /**
   * Partial update of an object entry: the given fields (those not `undefined`) replace the stored
   * ones and every other field stays. Keeps the entry's remaining TTL and tags unless `options`
   * give new ones. When there is no fresh entry it does nothing, so a partial object is never
   * served as if it were whole. Not atomic across processes. Every field, `__proto__`,
   * `constructor` and `prototype` included, is set as an own data property: a merge never changes
   * the stored object's prototype, on any backend.
   */
  async merge(key: string, partial: Record<string, unknown>, options?: SetOptions): Promise<void> {
    const full = this.view.fullKey(key);
    const found = await this.peek(key);
    const now = this.view.engine.clock();
    if (found === undefined || found.expiresAt <= now) return;
    const current = found.value;
    if (typeof current !== 'object' || current === null || Array.isArray(current)) {
      throw new CacheError(
        CacheErrorCode.E_UNSUPPORTED,
        `merge needs an object entry; ${keyRef(full)} holds ${Array.isArray(current) ? 'an array' : typeof current}`,
      );
    }
    // Spread and defineProperty make every field an own data property: a JSON-parsed `__proto__`
    // (or `constructor`, `prototype`) is stored as a field, never as the object's prototype.
    const merged: Record<string, unknown> = { ...(current as Record<string, unknown>) };
    for (const field of Object.keys(partial)) {
      const value = partial[field];
      if (value !== undefined)
        Object.defineProperty(merged, field, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
    }
    const ttlMs =
      options?.ttl === undefined
        ? found.expiresAt - now
        : parsePositiveDuration(options.ttl, 'ttl');
    const graceMs =
      options?.grace === undefined
        ? found.staleUntil - found.expiresAt
        : parseDuration(options.grace, 'grace');
    const tags = options?.tags === undefined ? found.tags : this.view.fullTags(options.tags);
    await this.view.store(full, entryOf(merged, { ttlMs, graceMs, tags }, now), options?.tier);
  }

  /** Deletes keys from every tier. */
  async delete(...keys: string[]): Promise<void> {
    const full = keys.map((key) => this.view.fullKey(key));
    await this.view.engine.delete(full);
    this.view.invalidated({ keys: full });
  }

  /**
   * Deletes every key of this cache matching a Redis glob: `*` any run (`:` too), `?` one
   * character, `[abc]` a class, `\x` a literal x. Resolves to how many distinct keys were removed.
   */
  async deletePattern(pattern: string): Promise<number> {
    if (typeof pattern !== 'string' || pattern === '') {
      throw new CacheError(CacheErrorCode.E_INVALID_KEY, 'deletePattern needs a non-empty pattern');
    }
    const stored = storedPattern(pattern);
    const glob = this.view.globPrefix + stored;
    let removed = await this.view.engine.deletePattern(glob);
    // Keys over the readable length keep a head and a hash: a second pass reaches those it matches.
    const long = longKeyPattern(this.view.globPrefix, stored);
    if (long !== undefined) removed += await this.view.engine.deletePattern(long);
    this.view.invalidated({ pattern: glob });
    return removed;
  }

  /** Deletes every entry of this cache carrying any of the tags; resolves to how many distinct keys. */
  async deleteByTag(...tags: string[]): Promise<number> {
    const full = this.view.fullTags(tags);
    const removed = await this.view.engine.deleteByTags(full);
    this.view.invalidated({ tags: full });
    return removed;
  }

  /** Removes every entry of this namespace (named caches under it included), and nothing else. */
  async clear(): Promise<void> {
    await this.view.engine.clear(this.view.prefix);
    this.view.invalidated({ prefix: this.view.prefix });
  }

  /**
   * Loads entries ahead of traffic, `concurrency` at a time (default 8). A failing load is counted
   * and logged, never thrown. Progress is logged every 10% when the total is known, else every 100.
   */
  warm(
    entries: Iterable<WarmEntry> | AsyncIterable<WarmEntry>,
    options?: WarmOptions,
  ): Promise<WarmReport> {
    return warmUp(this.view, (key, value, opts) => this.set(key, value, opts), entries, options);
  }

  /**
   * This cache's hits, misses, stale serves and hit rate; the tiers' errors, counters and latency
   * percentiles (the tiers are shared by every cache of the module). Synchronous.
   */
  stats(): CacheStats {
    return this.view.stats();
  }

  /**
   * Subscribes to the events of every cache of this module (`hit`, `miss`, `stale`, `set`,
   * `delete`, `error`); each event names its cache. Returns the unsubscribe function.
   */
  on<E extends CacheEventName>(
    event: E,
    listener: (payload: CacheEventMap[E]) => void,
  ): () => void {
    return this.view.engine.events.on(event, listener);
  }

  /** The fresh entry of `key`, looked up without counting a read (for has, ttl and merge). */
  private async peek(key: string): Promise<CacheEntry | undefined> {
    const engine = this.view.engine;
    const found = await lookup(engine, this.view.fullKey(key), engine.clock());
    return isFresh(found) ? found : undefined;
  }
}

/**
 * @internal The view behind a cache: the decorators compile their plans against it, so that they
 * count, store and namespace exactly as the service does.
 */
export function cacheViewOf(cache: CacheService): CacheView {
  return cache['view'];
}

/** What one `getOrSet` call hands to `resolve`. */
interface FactoryCall {
  readonly view: CacheView;
  readonly factory: () => unknown;
  readonly options: GetOrSetOptions | undefined;
}

/** The origin of `getOrSet`: the caller's factory, planned from its options on a miss. */
const FACTORY: Origin<FactoryCall> = {
  tier: (call) => call.options?.tier,
  plan: ({ view, options }) => originPlan(view.config, options, tagsOf(view, options)),
  run: (call) => call.factory(),
  store: (value) => value !== undefined,
};

/** The namespaced tags of per-call options. */
function tagsOf(view: CacheView, options: SetOptions | undefined): readonly string[] {
  return options?.tags === undefined || options.tags.length === 0
    ? NO_TAGS
    : view.fullTags(options.tags);
}

function valueOf<T>(entry: CacheEntry | undefined): T | undefined {
  return entry === undefined ? undefined : (entry.value as T);
}

function outcomeValue<T>(outcome: Outcome): T {
  return outcome.value as T;
}
