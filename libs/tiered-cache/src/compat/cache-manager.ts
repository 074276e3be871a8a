import { cacheViewOf, type CacheService } from '../cache.service.js';
import type { CacheView } from '../core/cache-view.js';
import { originPlan, type Origin, type Outcome } from '../core/origin-plan.js';
import { resolve } from '../core/resolve.js';
import { NO_TAGS } from '../serialization/entry-codec.js';
import { NO_EXPIRY_MS, secondsOf } from './cache-manager.constants.js';

/** A TTL in ms, or one computed from the value (`wrap` only). */
export type WrapTtl<T> = number | ((value: T) => number);

/** Options of `wrap` (cache-manager's `WrapOptions`). */
export interface WrapOptions<T> {
  /** TTL in ms, or a function of the computed value; default the module's `ttl`. */
  ttl?: WrapTtl<T>;
  /** Not supported: accepted and ignored (warned once); see the README's migration section. */
  refreshThreshold?: WrapTtl<T>;
}

/** `wrap` options asking for the entry with its expiry. */
export interface WrapOptionsRaw<T> extends WrapOptions<T> {
  raw: true;
}

/** What `wrap(..., { raw: true })` resolves to: the value and its expiry (epoch ms). */
export interface RawEntry<T> {
  value: T;
  expires: number | undefined;
}

/** One entry of `mset`. */
export interface CacheManagerEntry<T> {
  key: string;
  value: T;
  /** TTL in ms; default the module's `ttl`. */
  ttl?: number;
}

/**
 * The cache manager (`@Inject(CACHE_MANAGER) cache: Cache`, or `cache: Cache` by type): the
 * methods of cache-manager 7's `Cache`, with its units (TTLs in milliseconds, `0` no expiry) and
 * results (`get` resolves to `undefined` on a miss, `set` to the value, `del` to `true`), on the
 * tiers of `nest-tiered-cache`. Also the injection token of the manager, like
 * `@nestjs/cache-manager`'s `Cache`.
 */
export abstract class Cache {
  /** The value of `key`, or `undefined`. */
  abstract get<T>(key: string): Promise<T | undefined>;
  /** The values of `keys`, in order (`undefined` for each miss). */
  abstract mget<T>(keys: string[]): Promise<Array<T | undefined>>;
  /** When `key` expires (epoch ms), or `undefined` when it is absent. */
  abstract ttl(key: string): Promise<number | undefined>;
  /** Stores `value` for `ttl` ms (default the module's `ttl`; 0: no expiry); resolves to `value`. */
  abstract set<T>(key: string, value: T, ttl?: number): Promise<T>;
  /** Stores several entries; resolves to them, each with its TTL. */
  abstract mset<T>(list: Array<CacheManagerEntry<T>>): Promise<Array<CacheManagerEntry<T>>>;
  /** Deletes `key` from every tier (and from every instance's L1); resolves to `true`. */
  abstract del(key: string): Promise<boolean>;
  /** Deletes several keys; resolves to `true`. */
  abstract mdel(keys: string[]): Promise<boolean>;
  /** Deletes every entry of the cache's namespace; resolves to `true`. */
  abstract clear(): Promise<boolean>;
  /**
   * The value of `key`, computed by `fn` and stored on a miss; concurrent misses of one key in
   * this process run `fn` once. `ttl` in ms, or a function of the value.
   */
  abstract wrap<T>(
    key: string,
    fn: () => T | Promise<T>,
    ttl?: WrapTtl<T>,
    refreshThreshold?: WrapTtl<T>,
  ): Promise<T>;
  abstract wrap<T>(key: string, fn: () => T | Promise<T>, options: WrapOptions<T>): Promise<T>;
  abstract wrap<T>(
    key: string,
    fn: () => T | Promise<T>,
    options: WrapOptionsRaw<T>,
  ): Promise<RawEntry<T>>;
  /** Resolves at once: the connections belong to the module, which closes them at shutdown. */
  abstract disconnect(): Promise<undefined>;
  /** The cache's namespace (cache-manager: a random id). */
  abstract cacheId(): string;
}

/** What one `wrap` call hands to the one resolve path. */
interface WrapCall {
  readonly view: CacheView;
  readonly fn: () => unknown;
  readonly ttl: WrapTtl<unknown> | undefined;
}

/** The origin of `wrap`: the caller's function, stored unless it gave `undefined`. */
const WRAP: Origin<WrapCall> = {
  tier: () => undefined,
  plan: ({ view, ttl }) =>
    originPlan(view.config, typeof ttl === 'number' ? { ttl: secondsOf(ttl) } : undefined, NO_TAGS),
  run: (call) => call.fn(),
  store: (value) => value !== undefined,
};

/** The origin of `wrap` with a TTL that is a function of the value. */
const WRAP_TTL_OF_VALUE: Origin<WrapCall> = {
  ...WRAP,
  ttlOf: (value, call) => secondsOf((call.ttl as (value: unknown) => number)(value)) * 1000,
};

/** The manager behind `CACHE_MANAGER`: cache-manager's API on a root `CacheService`. */
export class TieredCacheManager extends Cache {
  private readonly view: CacheView;
  private warnedRefresh = false;

  constructor(
    /** @internal The root cache, also what the compat `CacheInterceptor` stores answers in. */
    readonly service: CacheService,
  ) {
    super();
    this.view = cacheViewOf(service);
  }

  get<T>(key: string): Promise<T | undefined> {
    return this.service.get<T>(key);
  }

  mget<T>(keys: string[]): Promise<Array<T | undefined>> {
    return this.service.mget<T>(keys);
  }

  async ttl(key: string): Promise<number | undefined> {
    const left = await this.service.ttl(key);
    return left === undefined ? undefined : this.view.engine.clock() + Math.round(left * 1000);
  }

  async set<T>(key: string, value: T, ttl?: number): Promise<T> {
    // cache-manager stores `undefined` (reads then miss) and a negative TTL expires at once:
    // both leave nothing behind, so both delete what was there.
    if (value === undefined || (ttl !== undefined && ttl < 0)) await this.service.delete(key);
    else
      await this.service.set(key, value, ttl === undefined ? undefined : { ttl: secondsOf(ttl) });
    return value;
  }

  async mset<T>(list: Array<CacheManagerEntry<T>>): Promise<Array<CacheManagerEntry<T>>> {
    await Promise.all(list.map(({ key, value, ttl }) => this.set(key, value, ttl)));
    const fallback = this.view.config.ttlMs === NO_EXPIRY_MS ? undefined : this.view.config.ttlMs;
    return list.map(({ key, value, ttl }) => ({ key, value, ttl: ttl ?? fallback }));
  }

  async del(key: string): Promise<boolean> {
    await this.service.delete(key);
    return true;
  }

  async mdel(keys: string[]): Promise<boolean> {
    if (keys.length > 0) await this.service.delete(...keys);
    return true;
  }

  async clear(): Promise<boolean> {
    await this.service.clear();
    return true;
  }

  wrap<T>(
    key: string,
    fn: () => T | Promise<T>,
    ttl?: WrapTtl<T>,
    refreshThreshold?: WrapTtl<T>,
  ): Promise<T>;
  wrap<T>(key: string, fn: () => T | Promise<T>, options: WrapOptions<T>): Promise<T>;
  wrap<T>(key: string, fn: () => T | Promise<T>, options: WrapOptionsRaw<T>): Promise<RawEntry<T>>;
  async wrap<T>(
    key: string,
    fn: () => T | Promise<T>,
    ttlOrOptions?: WrapTtl<T> | WrapOptions<T> | WrapOptionsRaw<T>,
    refreshThreshold?: WrapTtl<T>,
  ): Promise<T | RawEntry<T>> {
    const options =
      typeof ttlOrOptions === 'object' && ttlOrOptions !== null
        ? ttlOrOptions
        : { ttl: ttlOrOptions, refreshThreshold };
    if (options.refreshThreshold !== undefined) this.warnRefreshThreshold();
    const call: WrapCall = {
      view: this.view,
      fn,
      ttl: options.ttl as WrapTtl<unknown> | undefined,
    };
    const origin = typeof options.ttl === 'function' ? WRAP_TTL_OF_VALUE : WRAP;
    const found = resolve(this.view, this.view.fullKey(key), origin, call);
    const value = (found instanceof Promise ? ((await found) as Outcome).value : found.value) as T;
    if (!('raw' in options && options.raw === true)) return value;
    return { value, expires: await this.ttl(key) };
  }

  async disconnect(): Promise<undefined> {
    return undefined;
  }

  cacheId(): string {
    return this.view.config.namespace;
  }

  private warnRefreshThreshold(): void {
    if (this.warnedRefresh) return;
    this.warnedRefresh = true;
    this.view.engine.logger.warn(
      'cache manager: refreshThreshold is not supported and is ignored (an entry is computed again once it expires); CacheService.getOrSet with grace and timeout serves a stale value while it refreshes',
    );
  }
}
