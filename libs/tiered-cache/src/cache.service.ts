import { CacheError, CacheErrorCode } from './cache.errors.js';
import { parseDuration, parsePositiveDuration } from './core/duration.js';
import { entryOf, runOrigin, type OriginPlan } from './core/origin.js';
import { warmUp } from './core/warm-up.js';
import type { CacheEventMap, CacheEventName } from './core/cache-events.js';
import { rate, type TieredCache } from './core/tiered-cache.js';
import type { CacheEntry } from './interfaces/cache-backend.interface.js';
import type {
  CacheStats,
  GetOrSetOptions,
  SetOptions,
  TierSelection,
  WarmEntry,
  WarmOptions,
  WarmReport,
} from './interfaces/cache-service.interface.js';
import { escapeGlob } from './keys/glob.js';
import { NO_TAGS } from './serialization/entry-codec.js';
import { hashKey, KEY_SEPARATOR } from './keys/key-encoding.js';

/** Longest key kept readable; longer keys are stored under `#<sha256>`. */
const MAX_KEY_LENGTH = 1024;
/** Default lease of `atomic: 'at-most-once'`. */
export const DEFAULT_LEASE_MS = 10_000;

/** The defaults of one cache view: the root cache, or a named cache of `forFeature`. */
export interface CacheViewConfig {
  /** `undefined` for the root cache. */
  readonly name: string | undefined;
  readonly namespace: string;
  readonly ttlMs: number;
  readonly graceMs: number;
}

/**
 * The cache API: the root cache is injected by type (`constructor(private cache: CacheService)`),
 * a named one with `@InjectCache(name)`. Every key is stored as `<namespace>:<key>`. Backend failures
 * never reach the caller: a failing read is a miss and a failing write is skipped (both counted and logged).
 */
export class CacheService {
  private readonly prefix: string;
  private readonly globPrefix: string;
  private readonly counters = { hits: 0, misses: 0, stale: 0 };
  /** The name in events and metrics: the forFeature name, or 'default'. */
  readonly label: string;

  constructor(
    /** The shared engine (internal; used by the decorators). */
    readonly engine: TieredCache,
    private readonly view: CacheViewConfig,
  ) {
    this.label = view.name ?? 'default';
    this.prefix = view.namespace + KEY_SEPARATOR;
    this.globPrefix = escapeGlob(view.namespace) + KEY_SEPARATOR;
    engine.views.add(this);
  }

  /** The name given to `forFeature`, or undefined for the root cache. */
  get name(): string | undefined {
    return this.view.name;
  }

  /** The namespace every key of this cache is stored under. */
  get namespace(): string {
    return this.view.namespace;
  }

  /** This cache's default TTL and grace, in ms. */
  get defaults(): { readonly ttlMs: number; readonly graceMs: number } {
    return this.view;
  }

  /** The fresh value of `key`, or undefined. An L1 hit resolves without any further await. */
  get<T>(key: string): Promise<T | undefined> {
    try {
      const full = this.fullKey(key);
      const now = this.engine.clock();
      const found = this.engine.read(full, now);
      if (found instanceof Promise)
        return found.then((entry) =>
          this.countRead(entry, full, now) ? (entry!.value as T) : undefined,
        );
      return Promise.resolve(this.countRead(found, full, now) ? (found!.value as T) : undefined);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Stores `value` under `key` (in both tiers unless `tier` says otherwise). `undefined` is not stored. */
  async set(key: string, value: unknown, options?: SetOptions): Promise<void> {
    const full = this.fullKey(key);
    if (value === undefined) return;
    await this.write(full, this.entry(value, options), options?.tier);
  }

  /**
   * The value of `key`, computed by `factory` on a miss and stored. Concurrent misses of one key in
   * this process run the factory once. With `grace`, a stale value is returned when the factory
   * throws, or (with `timeout`) when it is slower than `timeout`; the refresh then finishes in the
   * background. A factory result of `undefined` is returned but not stored.
   */
  getOrSet<T>(key: string, factory: () => T | Promise<T>, options?: GetOrSetOptions): Promise<T> {
    try {
      const full = this.fullKey(key);
      const now = this.engine.clock();
      const found = this.engine.read(full, now);
      if (found instanceof Promise)
        return found.then((entry) => this.hitOrCompute(full, entry, factory, options, now));
      return Promise.resolve(this.hitOrCompute(full, found, factory, options, now));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The rest of `getOrSet` once the tiers answered: the hit (as is, not wrapped), or the origin's value. */
  private hitOrCompute<T>(
    full: string,
    found: CacheEntry | undefined,
    factory: () => T | Promise<T>,
    options: GetOrSetOptions | undefined,
    now: number,
  ): T | Promise<T> {
    if (this.countRead(found, full, now)) return found!.value as T;
    return runOrigin(this, full, found, factory, this.originPlan(options)).then(
      (outcome) => outcome.value,
    );
  }

  /** True when `key` has a fresh value. */
  async has(key: string): Promise<boolean> {
    const found = await this.engine.read(this.fullKey(key));
    return found !== undefined && found.expiresAt > this.engine.clock();
  }

  /** Seconds (with millisecond precision) until `key` stops being fresh; undefined when absent. */
  async ttl(key: string): Promise<number | undefined> {
    const found = await this.engine.read(this.fullKey(key));
    const left = found === undefined ? 0 : found.expiresAt - this.engine.clock();
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
   * served as if it were whole. Not atomic across processes.
   */
  async merge(key: string, partial: Record<string, unknown>, options?: SetOptions): Promise<void> {
    const full = this.fullKey(key);
    const found = await this.engine.read(full);
    const now = this.engine.clock();
    if (found === undefined || found.expiresAt <= now) return;
    const current = found.value;
    if (typeof current !== 'object' || current === null || Array.isArray(current)) {
      throw new CacheError(
        CacheErrorCode.E_UNSUPPORTED,
        `merge needs an object entry; "${key}" holds ${Array.isArray(current) ? 'an array' : typeof current}`,
      );
    }
    const merged: Record<string, unknown> = { ...(current as Record<string, unknown>) };
    for (const field of Object.keys(partial))
      if (partial[field] !== undefined) merged[field] = partial[field];
    const ttlMs =
      options?.ttl === undefined
        ? found.expiresAt - now
        : parsePositiveDuration(options.ttl, 'ttl');
    const graceMs =
      options?.grace === undefined
        ? found.staleUntil - found.expiresAt
        : parseDuration(options.grace, 'grace');
    const tags = options?.tags === undefined ? found.tags : this.fullTags(options.tags);
    const entry: CacheEntry = {
      value: merged,
      expiresAt: now + ttlMs,
      staleUntil: now + ttlMs + graceMs,
      tags,
    };
    await this.write(full, entry, options?.tier);
  }

  /** Deletes keys from every tier. */
  async delete(...keys: string[]): Promise<void> {
    const full = keys.map((key) => this.fullKey(key));
    await this.engine.delete(full);
    if (this.engine.events.active.delete)
      this.engine.events.emit('delete', { cache: this.label, keys: full });
  }

  /**
   * Deletes every key of this cache matching a Redis glob: `*` any run (`:` too), `?` one
   * character, `[abc]` a class, `\x` a literal x. Resolves to how many distinct keys were removed.
   */
  async deletePattern(pattern: string): Promise<number> {
    if (typeof pattern !== 'string' || pattern === '') {
      throw new CacheError(CacheErrorCode.E_INVALID_KEY, 'deletePattern needs a non-empty pattern');
    }
    const glob = this.globPrefix + pattern;
    const removed = await this.engine.deletePattern(glob);
    if (this.engine.events.active.delete)
      this.engine.events.emit('delete', { cache: this.label, pattern: glob });
    return removed;
  }

  /** Deletes every entry of this cache carrying any of the tags; resolves to how many distinct keys. */
  async deleteByTag(...tags: string[]): Promise<number> {
    const full = this.fullTags(tags);
    const removed = await this.engine.deleteByTags(full);
    if (this.engine.events.active.delete)
      this.engine.events.emit('delete', { cache: this.label, tags: full });
    return removed;
  }

  /** Removes every entry of this namespace (named caches under it included), and nothing else. */
  async clear(): Promise<void> {
    await this.engine.clear(this.prefix);
    if (this.engine.events.active.delete)
      this.engine.events.emit('delete', { cache: this.label, prefix: this.prefix });
  }

  /**
   * Loads entries ahead of traffic, `concurrency` at a time (default 8). A failing load is counted
   * and logged, never thrown. Progress is logged every 10% when the total is known, else every 100.
   */
  warm(
    entries: Iterable<WarmEntry> | AsyncIterable<WarmEntry>,
    options?: WarmOptions,
  ): Promise<WarmReport> {
    return warmUp(this, entries, options);
  }

  /**
   * This cache's hits, misses, stale serves and hit rate; the tiers' errors, counters and latency
   * percentiles (the tiers are shared by every cache of the module). Synchronous.
   */
  stats(): CacheStats {
    const { hits, misses, stale } = this.counters;
    const tiers = this.engine.stats().tiers;
    const errors = (tiers.local?.errors ?? 0) + (tiers.shared?.errors ?? 0);
    return { hits, misses, stale, errors, hitRate: rate(hits, misses), tiers };
  }

  /**
   * Subscribes to the events of every cache of this module (`hit`, `miss`, `stale`, `set`,
   * `delete`, `error`); each event names its cache. Returns the unsubscribe function.
   */
  on<E extends CacheEventName>(
    event: E,
    listener: (payload: CacheEventMap[E]) => void,
  ): () => void {
    return this.engine.events.on(event, listener);
  }

  /**
   * Counts a read of `key` (internal: used by the decorators); returns whether it was a fresh hit,
   * judged at `now` (by default the clock's current time).
   */
  countRead(found: CacheEntry | undefined, key: string, now?: number): boolean {
    const hit = this.engine.count(found, now);
    if (hit) {
      this.counters.hits++;
      if (this.engine.events.active.hit) this.engine.events.emit('hit', { cache: this.label, key });
    } else {
      this.counters.misses++;
      if (this.engine.events.active.miss)
        this.engine.events.emit('miss', { cache: this.label, key });
    }
    return hit;
  }

  /** Counts a stale value served for `key` (internal). */
  countStale(key: string): void {
    this.counters.stale++;
    this.engine.countStale();
    if (this.engine.events.active.stale)
      this.engine.events.emit('stale', { cache: this.label, key });
  }

  /** Writes an entry to the tiers (internal: used by the decorators). */
  async write(key: string, entry: CacheEntry, tier: TierSelection | undefined): Promise<void> {
    await this.engine.write(key, entry, tier);
    if (this.engine.events.active.set) this.engine.events.emit('set', { cache: this.label, key });
  }

  /** The stored key of `key` in this cache. */
  fullKey(key: string): string {
    if (typeof key !== 'string' || key === '') {
      throw new CacheError(
        CacheErrorCode.E_INVALID_KEY,
        `a cache key must be a non-empty string, got ${typeof key === 'string' ? 'an empty string' : typeof key}`,
      );
    }
    return this.prefix + (key.length <= MAX_KEY_LENGTH ? key : `#${hashKey(key)}`);
  }

  /** The stored (namespaced) form of a tag. */
  fullTag(tag: string): string {
    if (typeof tag !== 'string' || tag === '')
      throw new CacheError(CacheErrorCode.E_INVALID_KEY, 'a tag must be a non-empty string');
    return this.prefix + tag;
  }

  private fullTags(tags: readonly string[]): string[] {
    return tags.map((tag) => this.fullTag(tag));
  }

  private entry(value: unknown, options: SetOptions | undefined): CacheEntry {
    return entryOf(this.engine, value, this.originPlan(options));
  }

  /** Resolves per-call options against this cache's defaults. */
  private originPlan(options: GetOrSetOptions | undefined): OriginPlan {
    return {
      ttlMs:
        options?.ttl === undefined ? this.view.ttlMs : parsePositiveDuration(options.ttl, 'ttl'),
      graceMs:
        options?.grace === undefined ? this.view.graceMs : parseDuration(options.grace, 'grace'),
      tags:
        options?.tags === undefined || options.tags.length === 0
          ? NO_TAGS
          : this.fullTags(options.tags),
      tier: options?.tier,
      timeoutMs:
        options?.timeout === undefined ? undefined : parseDuration(options.timeout, 'timeout'),
      atomic: options?.atomic,
      leaseMs:
        options?.lease === undefined
          ? DEFAULT_LEASE_MS
          : parsePositiveDuration(options.lease, 'lease'),
      store: isDefined,
    };
  }
}

function isDefined(value: unknown): boolean {
  return value !== undefined;
}
