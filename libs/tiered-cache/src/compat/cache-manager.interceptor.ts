import {
  Inject,
  Injectable,
  Optional,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { from, lastValueFrom, type Observable } from 'rxjs';
import { CacheError, CacheErrorCode } from '../cache.errors.js';
import { CachePlanRegistry } from '../explorer/cache-plan.registry.js';
import {
  compileCachedPlan,
  type CachedPlan,
  type HttpRequestLike,
} from '../explorer/cache-plans.js';
import { hasCredentials, routeBinder } from '../explorer/route-keys.js';
import { CacheInterceptor as RouteCacheInterceptor } from '../interceptors/cache.interceptor.js';
import {
  CACHE_KEY_METADATA,
  CACHE_MANAGER,
  CACHE_TTL_METADATA,
  secondsOf,
} from './cache-manager.constants.js';
import { Cache, TieredCacheManager } from './cache-manager.js';
import type { CacheKeyFactory, CacheTTLFactory } from './cache-manager.decorators.js';

/** Distinct TTLs whose route plans are kept (a `@CacheTTL` factory may give any number). */
const MAX_PLANS = 64;

/**
 * `@nestjs/cache-manager`'s `CacheInterceptor` on `nest-tiered-cache`: bind it as there
 * (`@UseInterceptors(CacheInterceptor)` on a controller or route, or as `APP_INTERCEPTOR`). A GET
 * request is cached under its URL (`@CacheKey` names another key, used for any method), for the
 * module's `ttl` or `@CacheTTL` (ms), with an `X-Cache: HIT` or `MISS` header. `trackBy` and
 * `isRequestCacheable` are `protected` to override, as there.
 *
 * Unlike there, a request with credentials (`Authorization`, a cookie) is not cached by default
 * (override `isRequestCacheable`), an answer is stored as sent (its bytes, after every
 * interceptor and serializer; only a 200), and concurrent misses of one key run the handler once.
 * WebSocket and microservice handlers with `@CacheKey` cache their value.
 */
@Injectable()
export class CacheInterceptor implements NestInterceptor {
  /** Nest's HTTP adapter (absent in an application without HTTP). */
  @Optional()
  @Inject(HttpAdapterHost)
  protected readonly httpAdapterHost: HttpAdapterHost | undefined;
  /** @internal The registry of the root module (absent without it). */
  @Optional()
  @Inject(CachePlanRegistry)
  private readonly registry: CachePlanRegistry | undefined;
  /** HTTP methods cached under their URL. */
  protected allowedMethods = ['GET'];
  private readonly manager: TieredCacheManager;
  private routes: RouteCacheInterceptor | undefined;
  private readonly plans = new Map<number | undefined, CachedPlan<HttpRequestLike>>();

  constructor(
    @Inject(CACHE_MANAGER) protected readonly cacheManager: Cache,
    protected readonly reflector: Reflector,
  ) {
    if (!(cacheManager instanceof TieredCacheManager)) {
      throw new CacheError(
        CacheErrorCode.E_INVALID_OPTION,
        'the CacheInterceptor of nest-tiered-cache/compat needs the CACHE_MANAGER of nest-tiered-cache/compat: import CacheModule.register() from it',
      );
    }
    this.manager = cacheManager;
  }

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const key = await this.trackBy(context);
    if (!key) return next.handle();
    const ttl = await this.ttlOf(context);
    if (ttl !== undefined && ttl < 0) return next.handle(); // expires at once: nothing to keep
    if (context.getType() !== 'http') {
      const load = () => lastValueFrom(next.handle(), { defaultValue: undefined });
      return from(this.manager.wrap(key, load, ttl));
    }
    const routes = this.routeInterceptor();
    const plan = this.planFor(ttl);
    if (routes === undefined || !routes.canServe(plan)) return next.handle();
    return routes.serveRoute(context, next, plan, key);
  }

  /**
   * The key of this call, or a falsy value to skip the cache: `@CacheKey` when the handler has
   * one; else, over HTTP, the request's URL when `isRequestCacheable`.
   */
  protected trackBy(
    context: ExecutionContext,
  ): string | undefined | null | Promise<string | undefined | null> {
    const adapter = this.httpAdapterHost?.httpAdapter;
    const isHttpApp = adapter !== undefined && adapter !== null && !!adapter.getRequestMethod;
    const named = this.reflector.get<string | CacheKeyFactory | undefined>(
      CACHE_KEY_METADATA,
      context.getHandler(),
    );
    if (!isHttpApp || named) return typeof named === 'function' ? named(context) : named;
    if (!this.isRequestCacheable(context)) return undefined;
    return adapter.getRequestUrl(context.getArgByIndex(0)) as string;
  }

  /** Whether a request may use the cache: an allowed method, and no `Authorization` or cookie. */
  protected isRequestCacheable(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<HttpRequestLike>();
    return this.allowedMethods.includes(request.method) && !hasCredentials(request);
  }

  /** The TTL of this call in ms from `@CacheTTL` (handler, then class), else the module's. */
  private async ttlOf(context: ExecutionContext): Promise<number | undefined> {
    const ttl =
      this.reflector.get<number | CacheTTLFactory | undefined>(
        CACHE_TTL_METADATA,
        context.getHandler(),
      ) ??
      this.reflector.get<number | CacheTTLFactory | undefined>(
        CACHE_TTL_METADATA,
        context.getClass(),
      );
    return typeof ttl === 'function' ? ttl(context) : (ttl ?? undefined);
  }

  /** The library's route interceptor, which serves and stores answers as sent. */
  private routeInterceptor(): RouteCacheInterceptor | undefined {
    if (
      this.routes === undefined &&
      this.registry !== undefined &&
      this.httpAdapterHost !== undefined
    )
      this.routes = new RouteCacheInterceptor(this.registry, this.httpAdapterHost);
    return this.routes;
  }

  /** The plan of a route cached for `ttl` ms (the module's when undefined), made once per TTL. */
  private planFor(ttl: number | undefined): CachedPlan<HttpRequestLike> {
    let plan = this.plans.get(ttl);
    if (plan === undefined) {
      plan = compileCachedPlan(
        { ...(ttl === undefined ? {} : { ttl: secondsOf(ttl) }), methods: this.allowedMethods },
        this.manager.service,
        routeBinder([]),
        () => undefined,
        `${this.constructor.name} (nest-tiered-cache/compat)`,
      );
      if (this.plans.size < MAX_PLANS) this.plans.set(ttl, plan);
    }
    return plan;
  }
}
