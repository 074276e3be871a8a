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
import { tryEncodeKeyPart } from '../keys/key-encoding.js';
import {
  assertSafePath,
  compileTemplate,
  parseTemplate,
  pathGetter,
  type Binding,
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
  /**
   * Whether requests with credentials (`Authorization`, a cookie) may use this route's cache at
   * all: `scope: 'public'`, or a key naming the user (`{user.*}`) or a credential header
   * (`{header.authorization}`, `{header.cookie}`). Such a key then refuses (`key` gives
   * `undefined`) a request whose credentials it does not cover: one with a credential header the
   * key does not name, or with credentials but no `request.user` for an optional `{user.id?}`.
   */
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

/**
 * Whether, and when, requests that carry credentials (`Authorization`, a cookie) may use a key,
 * decided at bootstrap from the placeholders of its template.
 */
export interface CredentialRule<C> {
  /** The key names who is asking (routes: `{user.*}`, or a credential header itself). */
  readonly namesUser: boolean;
  /** When set, a request uses the key only if this admits it (it carries no credential the key does not name). */
  readonly admits?: (context: C) => boolean;
}

/** Binds a template's placeholders to a context; throws naming what is available. */
export interface TemplateBinder<C> {
  /** How a placeholder is read, or `undefined` when the route or method does not have it. */
  bind(placeholder: Placeholder): Getter<C> | Binding<C> | undefined;
  /** Why a placeholder cannot be used as written here (`{id?}`, `{query:int}`), or `undefined`. */
  refuse(placeholder: Placeholder): string | undefined;
  /** The placeholders that exist, for the error message. */
  readonly available: string;
  /** The credential rule of a key with these placeholders. */
  credentials(placeholders: readonly Placeholder[]): CredentialRule<C>;
}

/** A compiled template, with what its placeholders say about credentials. */
export interface CompiledTemplate<C> extends CredentialRule<C> {
  readonly resolve: TemplateResolver<C>;
  /** The template has no placeholder. */
  readonly constant: boolean;
}

/** Compiles one template against a binder, or throws `E_INVALID_TEMPLATE` naming the culprit. */
export function compileWith<C>(
  template: string,
  binder: TemplateBinder<C>,
  where: string,
): CompiledTemplate<C> {
  const parts = parseTemplate(template, where);
  const placeholders = parts.filter((part): part is Placeholder => typeof part !== 'string');
  const resolve = compileTemplate<C>(parts, (placeholder) => {
    assertSafePath(placeholder, where);
    const refused = binder.refuse(placeholder);
    if (refused !== undefined) {
      throw new CacheError(
        CacheErrorCode.E_INVALID_TEMPLATE,
        `${where}: key template "${template}" names {${placeholder.raw}}: ${refused}`,
      );
    }
    const binding = binder.bind(placeholder);
    if (binding === undefined) {
      throw new CacheError(
        CacheErrorCode.E_INVALID_TEMPLATE,
        `${where}: key template "${template}" names {${placeholder.raw}}, which it does not have; available: ${binder.available}`,
      );
    }
    return binding;
  });
  return { resolve, constant: placeholders.length === 0, ...binder.credentials(placeholders) };
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
    refuse: (placeholder) =>
      placeholder.optional
        ? 'a provider method has no viewer: only {user.*} placeholders of routes may be optional ({user.id?})'
        : undefined,
    credentials: () => ({ namesUser: false }),
  };
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
    const { resolve, admits } = compiled;
    key =
      admits === undefined || options.scope === 'public'
        ? resolve
        : (context) => (admits(context) ? resolve(context) : undefined);
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
