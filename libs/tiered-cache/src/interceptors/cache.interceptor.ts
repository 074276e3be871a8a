import {
  Injectable,
  StreamableFile,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { from, lastValueFrom, mergeMap, of, type Observable } from 'rxjs';
import type { Origin, OriginStatus, Outcome } from '../core/origin-plan.js';
import { resolve } from '../core/resolve.js';
import { CachePlanRegistry } from '../explorer/cache-plan.registry.js';
import {
  planOf,
  runInvalidation,
  type CachedPlan,
  type CachedRoute,
  type HttpRequestLike,
  type InvalidatePlan,
} from '../explorer/cache-plans.js';

/** The response header that says where a cached route's answer came from. */
export const X_CACHE = 'X-Cache';

const X_CACHE_VALUE: Readonly<Record<OriginStatus, string>> = {
  hit: 'HIT',
  miss: 'MISS',
  stale: 'STALE',
};

/** One request of a `@Cached` route, as handed to the one resolve path. */
interface RouteCall {
  readonly context: ExecutionContext;
  readonly next: CallHandler;
  readonly request: HttpRequestLike;
  readonly plan: CachedPlan<HttpRequestLike>;
  /** Whether this request's own handler ran (it did not join another request's computation). */
  ran: boolean;
}

/**
 * Serves `@Cached` routes from the cache and runs `@InvalidateCache` after successful routes.
 * Bound by the decorators themselves. Plans are compiled at bootstrap, so a request does a map
 * lookup, resolves its key, and on an L1 hit answers synchronously.
 *
 * To customise it, extend it, override the `protected` hooks ({@link isRequestCacheable},
 * {@link trackBy}, {@link isCacheable}) and register the subclass as a provider (for example
 * `{ provide: CacheInterceptor, useClass: MyCacheInterceptor }`): every `@Cached` and
 * `@InvalidateCache` route then goes through it.
 */
@Injectable()
export class CacheInterceptor implements NestInterceptor {
  /** What a miss runs: the route handler, planned per request; made once. */
  private readonly origin: Origin<RouteCall> = {
    tier: (call) => call.plan.tier,
    plan: (call) => planOf(call.plan, call.request),
    run: (call) => {
      call.ran = true;
      return lastValueFrom(call.next.handle(), { defaultValue: undefined });
    },
    store: (value, call) => this.isCacheable(value, call.context, call.plan),
  };

  constructor(
    private readonly registry: CachePlanRegistry,
    protected readonly httpAdapterHost: HttpAdapterHost,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const custom = this.registry.interceptor;
    if (custom !== undefined && custom !== this) return custom.intercept(context, next);
    const plans = this.registry.routes.get(context.getHandler());
    if (plans === undefined || context.getType() !== 'http') return next.handle();
    const request = requestOf(context);
    let out: Observable<unknown> | undefined;
    const cached = plans.cached;
    if (cached !== undefined && this.isRequestCacheable(context, cached)) {
      const key = this.trackBy(context, cached);
      if (key !== undefined)
        out = this.serve({ context, next, request, plan: cached, ran: false }, key);
    }
    out ??= next.handle();
    const invalidate = plans.invalidate;
    return invalidate === undefined
      ? out
      : out.pipe(mergeMap((value) => invalidateThen(invalidate, request, value)));
  }

  /**
   * Whether this request may be served from, and stored in, the cache. By default: its HTTP method
   * is one the route caches, and it carries no credentials (`Authorization`, a cookie) unless the
   * key names the user or the route is `scope: 'public'`.
   */
  protected isRequestCacheable(context: ExecutionContext, route: CachedRoute): boolean {
    const request = requestOf(context);
    return (
      route.methods.has(request.method) && (route.sharedWithCredentials || !hasCredentials(request))
    );
  }

  /**
   * The cache key of this request, before the namespace; `undefined` skips the cache. By default
   * the route's key template (or its path and sorted query), compiled at bootstrap.
   */
  protected trackBy(context: ExecutionContext, route: CachedRoute): string | undefined {
    return route.key(requestOf(context));
  }

  /**
   * Whether what the handler returned may be stored. By default: never a `StreamableFile`, and
   * `null` or `undefined` only with `cacheNullish`.
   */
  protected isCacheable(value: unknown, _context: ExecutionContext, route: CachedRoute): boolean {
    return route.store(value);
  }

  private serve(call: RouteCall, key: string): Observable<unknown> {
    const view = call.plan.view;
    const found = resolve(view, view.fullKey(key), this.origin, call);
    if (!(found instanceof Promise)) {
      this.setCacheHeader(call, 'hit');
      return of(found.value);
    }
    return from(found.then((outcome) => this.answer(call, outcome)));
  }

  private answer(call: RouteCall, outcome: Outcome): unknown {
    // A stream can be read once: a request that joined another's computation runs its own handler.
    if (!call.ran && outcome.value instanceof StreamableFile)
      return lastValueFrom(call.next.handle(), { defaultValue: undefined });
    this.setCacheHeader(call, outcome.status);
    return outcome.value;
  }

  private setCacheHeader(call: RouteCall, status: OriginStatus): void {
    const response: unknown = call.context.getArgByIndex(1); // what switchToHttp().getResponse() reads
    this.httpAdapterHost.httpAdapter.setHeader(response, X_CACHE, X_CACHE_VALUE[status]);
  }
}

/**
 * The request of an HTTP context: argument 0, read directly. `switchToHttp()` would build three
 * closures on every call, and this runs on every request of a cached route.
 */
function requestOf(context: ExecutionContext): HttpRequestLike {
  return context.getArgByIndex<HttpRequestLike>(0);
}

function hasCredentials(request: HttpRequestLike): boolean {
  return request.headers.authorization !== undefined || request.headers.cookie !== undefined;
}

async function invalidateThen(
  plan: InvalidatePlan<HttpRequestLike>,
  request: HttpRequestLike,
  value: unknown,
): Promise<unknown> {
  await runInvalidation(plan, request);
  return value;
}
