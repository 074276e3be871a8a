import { StreamableFile } from '@nestjs/common';
import { CacheError, CacheErrorCode } from '../cache.errors.js';
import { cacheViewOf, type CacheService } from '../cache.service.js';
import type { CacheView } from '../core/cache-view.js';
import { originPlan, type OriginPlan } from '../core/origin-plan.js';
import { compileHttpCache, type HttpCachePlan } from '../http/http-cache.js';
import type { TierSelection } from '../interfaces/cache-service.interface.js';
import type {
  CachedOptions,
  InvalidateCacheOptions,
} from '../interfaces/decorator-options.interface.js';
import { encodeKeyPart, tryEncodeKeyPart } from '../keys/key-encoding.js';
import {
  assertSafePath,
  compileTemplate,
  parseTemplate,
  pathGetter,
  type Getter,
  type Placeholder,
  type TemplateResolver,
} from '../keys/key-template.js';

/** The minimum of a request the plans read (Express and Fastify requests both have it). */
export interface HttpRequestLike {
  method: string;
  url: string;
  originalUrl?: string;
  params?: Record<string, unknown>;
  query?: Record<string, unknown>;
  body?: unknown;
  user?: unknown;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * What the cache interceptor's hooks are told of a `@Cached` route, compiled at bootstrap
 * (`C` is the request, `HttpRequestLike`).
 */
export interface CachedRoute<C = HttpRequestLike> {
  /** The options given to `@Cached`. */
  readonly options: Readonly<CachedOptions>;
  /** The key of a call from the template (or the default key), before the namespace; undefined skips the cache. */
  readonly key: TemplateResolver<C>;
  /** Upper-case HTTP methods that are cached (routes only). */
  readonly methods: ReadonlySet<string>;
  /** Whether requests with credentials may use this key: `scope: 'public'`, or a key naming the user. */
  readonly sharedWithCredentials: boolean;
  /** Whether a computed value may be stored: never a `StreamableFile`; `null` and `undefined` only with `cacheNullish`. */
  readonly store: (value: unknown) => boolean;
}

/** What `@Cached` does on one route or method, compiled at bootstrap. */
export interface CachedPlan<C> extends CachedRoute<C> {
  readonly cache: CacheService;
  /** The cache the plan reads, counts and stores through. */
  readonly view: CacheView;
  /** The origin plan, or a function of the call when tags are templates. */
  readonly origin: OriginPlan | ((context: C) => OriginPlan);
  /** The tiers the plan reads and writes (`undefined`: both). */
  readonly tier: TierSelection | undefined;
  /** Routes: the `Cache-Control` of `httpCache`, if given. */
  readonly httpCache: HttpCachePlan | undefined;
}

/** What `@InvalidateCache` does on one route or method, compiled at bootstrap. */
export interface InvalidatePlan<C> {
  readonly cache: CacheService;
  readonly keys: ReadonlyArray<TemplateResolver<C>>;
  readonly patterns: ReadonlyArray<TemplateResolver<C>>;
  readonly tags: ReadonlyArray<TemplateResolver<C>>;
}

/** Both plans of one method (either may be absent). */
export interface MethodPlans<C> {
  readonly cached?: CachedPlan<C>;
  readonly invalidate?: InvalidatePlan<C>;
}

/** Binds a template's placeholders to a context; throws naming what is available. */
export interface TemplateBinder<C> {
  bind(placeholder: Placeholder): Getter<C> | undefined;
  /** Placeholders whose nullish value means "do not cache this call". */
  required(placeholder: Placeholder): boolean;
  /** The placeholders that exist, for the error message. */
  readonly available: string;
  /** Whether a placeholder names the user (routes: `{user.*}` or `{header.*}`). */
  namesUser(placeholder: Placeholder): boolean;
}

/** Compiles one template against a binder, or throws `E_INVALID_TEMPLATE` naming the culprit. */
export function compileWith<C>(
  template: string,
  binder: TemplateBinder<C>,
  where: string,
): { resolve: TemplateResolver<C>; namesUser: boolean; constant: boolean } {
  const parts = parseTemplate(template, where);
  const constant = parts.every((part) => typeof part === 'string');
  let namesUser = false;
  const resolve = compileTemplate<C>(
    parts,
    (placeholder) => {
      assertSafePath(placeholder, where);
      const getter = binder.bind(placeholder);
      if (getter === undefined) {
        throw new CacheError(
          CacheErrorCode.E_INVALID_TEMPLATE,
          `${where}: key template "${template}" names {${placeholder.raw}}, which it does not have; available: ${binder.available}`,
        );
      }
      namesUser ||= binder.namesUser(placeholder);
      return getter;
    },
    (placeholder) => binder.required(placeholder),
  );
  return { resolve, namesUser, constant };
}

function namesUser(placeholder: Placeholder): boolean {
  return (
    (placeholder.path[0] === 'user' || placeholder.path[0] === 'header') &&
    placeholder.path.length > 1
  );
}

/** Placeholders of a route: its path params, and `query.*`, `body.*`, `user.*`, `header.*`, `params.*`. */
export function routeBinder(routeParams: readonly string[]): TemplateBinder<HttpRequestLike> {
  const sources: Record<string, (req: HttpRequestLike) => unknown> = {
    params: (req) => req.params,
    query: (req) => req.query,
    body: (req) => req.body,
    user: (req) => req.user,
    header: (req) => req.headers,
  };
  return {
    available: [
      ...routeParams.map((p) => `{${p}}`),
      '{query.*}',
      '{body.*}',
      '{user.*}',
      '{header.*}',
    ].join(', '),
    bind(placeholder) {
      const [head, ...rest] = placeholder.path as [string, ...string[]];
      if (rest.length === 0)
        return routeParams.includes(head) ? pathGetter(sources.params!, [head]) : undefined;
      if (head === 'params')
        return routeParams.includes(rest[0]!) ? pathGetter(sources.params!, rest) : undefined;
      if (head === 'header')
        return rest.length === 1
          ? pathGetter(sources.header!, [rest[0]!.toLowerCase()])
          : undefined;
      const source = sources[head];
      return source === undefined ? undefined : pathGetter(source, rest);
    },
    // A key that names the user may be shared with requests that carry credentials, so when the
    // user (or the header) is missing the request must not use the cache at all.
    required: namesUser,
    namesUser,
  };
}

/** Placeholders of a provider method: parameters by name or position, and paths into them. */
export function methodBinder(
  names: ReadonlyArray<string | undefined>,
): TemplateBinder<readonly unknown[]> {
  const listed = names.map((name, i) => (name === undefined ? `{${i}}` : `{${name}} or {${i}}`));
  return {
    available:
      listed.length === 0 ? 'nothing (the method declares no parameters)' : listed.join(', '),
    bind(placeholder) {
      const [head, ...rest] = placeholder.path as [string, ...string[]];
      const index = /^\d+$/.test(head) ? Number(head) : names.indexOf(head);
      if (index < 0 || index >= names.length) return undefined;
      return pathGetter((args: readonly unknown[]) => args[index], rest);
    },
    required: () => false,
    namesUser: () => false,
  };
}

/** The default route key: the path, then the query sorted by name. */
export function defaultRouteKey(req: HttpRequestLike): string | undefined {
  const url = req.originalUrl ?? req.url;
  const cut = url.indexOf('?');
  const path = cut === -1 ? url : url.slice(0, cut);
  const query = req.query;
  if (query === undefined || query === null) return `http:${encodeKeyPart(path)}`;
  const names = Object.keys(query);
  if (names.length === 0) return `http:${encodeKeyPart(path)}`;
  names.sort();
  const pairs = tryEncodeKeyPart(names.map((name) => [name, query[name]]));
  return pairs === undefined ? undefined : `http:${encodeKeyPart(path)}?${pairs}`;
}

/** The default method key: class, method, and the arguments. */
export function defaultMethodKey(
  owner: string,
  method: string,
): TemplateResolver<readonly unknown[]> {
  const prefix = `${owner}.${method}:`;
  return (args) => {
    const encoded = tryEncodeKeyPart(args);
    return encoded === undefined ? undefined : prefix + encoded;
  };
}

/** Compiles the options of `@Cached` into a plan. */
export function compileCachedPlan<C>(
  options: CachedOptions,
  cache: CacheService,
  binder: TemplateBinder<C>,
  defaultKey: TemplateResolver<C>,
  where: string,
): CachedPlan<C> {
  let namesUser = false;
  let key = defaultKey;
  if (options.key !== undefined) {
    const compiled = compileWith(options.key, binder, `${where} key`);
    key = compiled.resolve;
    namesUser = compiled.namesUser;
  }
  const compiledTags = (options.tags ?? []).map((tag) => compileWith(tag, binder, `${where} tags`));
  const tagResolvers = compiledTags.map((tag) => tag.resolve);
  const cacheNullish = options.cacheNullish === true;
  const view = cacheViewOf(cache);
  const base = originPlan(view.config, options, [], where);
  const staticTags = compiledTags.every((tag) => tag.constant);
  const fullTags = (context: C) =>
    tagResolvers
      .map((resolve) => resolve(context))
      .filter((tag): tag is string => tag !== undefined && tag !== '')
      .map((tag) => view.fullTag(tag));
  const origin = staticTags
    ? { ...base, tags: fullTags(undefined as C) }
    : (context: C): OriginPlan => ({ ...base, tags: fullTags(context) });
  return {
    options,
    cache,
    view,
    key,
    origin,
    tier: base.tier,
    httpCache: compileHttpCache(options.httpCache),
    store: (value) => !(value instanceof StreamableFile) && (cacheNullish || value != null),
    methods: new Set((options.methods ?? ['GET', 'HEAD']).map((m) => m.toUpperCase())),
    sharedWithCredentials: options.scope === 'public' || namesUser,
  };
}

/** The origin plan of one call of a `@Cached` route or method (asked only on a miss). */
export function planOf<C>(plan: CachedPlan<C>, context: C): OriginPlan {
  return typeof plan.origin === 'function' ? plan.origin(context) : plan.origin;
}

/** Compiles the options of `@InvalidateCache` into a plan. */
export function compileInvalidatePlan<C>(
  options: InvalidateCacheOptions,
  cache: CacheService,
  binder: TemplateBinder<C>,
  where: string,
): InvalidatePlan<C> {
  const all = (list: string[] | undefined, what: string) =>
    (list ?? []).map((t) => compileWith(t, binder, `${where} ${what}`).resolve);
  return {
    cache,
    keys: all(options.keys, 'keys'),
    patterns: all(options.patterns, 'patterns'),
    tags: all(options.tags, 'tags'),
  };
}

/** Runs an invalidation plan; failures are the tiers' (counted, logged), never thrown. */
export async function runInvalidation<C>(plan: InvalidatePlan<C>, context: C): Promise<void> {
  const defined = (resolvers: ReadonlyArray<TemplateResolver<C>>) =>
    resolvers
      .map((resolve) => resolve(context))
      .filter((value): value is string => value !== undefined && value !== '');
  const keys = defined(plan.keys);
  const patterns = defined(plan.patterns);
  const tags = defined(plan.tags);
  await Promise.all([
    keys.length > 0 ? plan.cache.delete(...keys) : undefined,
    ...patterns.map((pattern) => plan.cache.deletePattern(pattern)),
    tags.length > 0 ? plan.cache.deleteByTag(...tags) : undefined,
  ]);
}
