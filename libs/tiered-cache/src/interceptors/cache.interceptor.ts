import {
  Inject,
  Injectable,
  Optional,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ServerResponse } from 'node:http';
import { lastValueFrom, mergeMap, Observable, of, type Subscriber } from 'rxjs';
import { CacheError, CacheErrorCode } from '../cache.errors.js';
import type { Origin, OriginStatus } from '../core/origin-plan.js';
import { resolve } from '../core/resolve.js';
import { CachePlanRegistry } from '../explorer/cache-plan.registry.js';
import { hasCredentials } from '../explorer/route-keys.js';
import { CachedResponse } from '../http/cached-response.js';
import { ageOf, matchesEtag } from '../http/http-cache.js';
import { captureResponse, isStream, type ResponseCapture } from '../http/response-capture.js';
import { replayFor, type Replay, type ReplayHeaders } from '../http/response-replay.js';
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
  /** Whether this request's own handler failed or was given up on (a stale answer may then stand in). */
  failed: boolean;
  /** The capture of this request's answer, while its handler runs as the origin of a miss. */
  capture: ResponseCapture | undefined;
  /** Whether this request has been answered (by its own handler, a stored answer, or an error). */
  answered: boolean;
  /** Who receives this request's answer, once its Observable is subscribed to. */
  subscriber: Subscriber<unknown> | undefined;
  /** The handler's value, when it came before the answer was subscribed to. */
  early: { readonly value: unknown } | undefined;
}

const NO_HEADERS: ReplayHeaders = { cacheControl: undefined, age: undefined };

/**
 * Serves `@Cached` routes from the cache and runs `@InvalidateCache` after successful routes.
 * Bound by the decorators themselves. Plans are compiled at bootstrap, so a request does a map
 * lookup, resolves its key, and on an L1 hit answers synchronously.
 *
 * A route's cache entry is its answer as sent (a {@link CachedResponse}: the bytes Express or
 * Fastify wrote, after every interceptor and serializer of the app, their content type and an
 * ETag), captured from the response of a miss. A hit sends those bytes: interceptors outside this
 * one still run and see the `CachedResponse`, but what they make of it is not sent, so a hit
 * answers exactly what the miss answered, and skips the framework's serialization.
 *
 * To customise it, extend it, override the `protected` hooks ({@link isRequestCacheable},
 * {@link trackBy}, {@link isCacheable}) and register the subclass as a provider (for example
 * `{ provide: CacheInterceptor, useClass: MyCacheInterceptor }`): every `@Cached` and
 * `@InvalidateCache` route then goes through it.
 */
@Injectable()
export class CacheInterceptor implements NestInterceptor {
  /** What a miss runs: the route handler and the capture of its answer; made once. */
  private readonly origin: Origin<RouteCall> = {
    tier: (call) => call.plan.tier,
    plan: (call) => planOf(call.plan, call.request),
    run: (call) => this.runHandler(call),
    store: (value) => value instanceof CachedResponse,
    // Past the hard timeout this request is answered without its handler (the stale answer, or
    // the error through the app's exception filters): what the handler sends late is not stored.
    abandoned: (call) => {
      call.failed = true;
      call.capture?.cancel();
    },
  };
  /** How this application's HTTP adapter sends a stored answer (`null`: an adapter it does not know). */
  private replayer: Replay | null | undefined;

  private readonly registry: CachePlanRegistry;

  constructor(
    @Optional() @Inject(CachePlanRegistry) registry: CachePlanRegistry | undefined,
    protected readonly httpAdapterHost: HttpAdapterHost,
  ) {
    // Without the module the registry is missing; say so instead of Nest's "can't resolve".
    if (registry === undefined) throw moduleMissing();
    this.registry = registry;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const custom = this.registry.interceptor;
    if (custom !== undefined && custom !== this) return custom.intercept(context, next);
    const plans = this.registry.routes.get(context.getHandler());
    if (plans === undefined || context.getType() !== 'http') return next.handle();
    const request = requestOf(context);
    let out: Observable<unknown> | undefined;
    const cached = plans.cached;
    if (cached !== undefined && this.canServe(cached) && this.isRequestCacheable(context, cached)) {
      const key = this.trackBy(context, cached);
      if (key !== undefined) out = this.serveRoute(context, next, cached, key);
    }
    out ??= next.handle();
    const invalidate = plans.invalidate;
    return invalidate === undefined
      ? out
      : out.pipe(mergeMap((value) => invalidateThen(invalidate, request, value)));
  }

  /**
   * @internal Whether routes of `plan` can be served from the cache here: caching is on
   * (`enabled`), and the HTTP adapter is one whose answers can be replayed (Express, Fastify).
   */
  canServe(plan: CachedPlan<HttpRequestLike>): boolean {
    return plan.view.engine.enabled && this.replay() !== null;
  }

  /**
   * @internal Serves one request of a route under `key` with `plan` (after {@link canServe}):
   * the path of `@Cached` routes, taken by the `nest-tiered-cache/compat` interceptor too.
   */
  serveRoute(
    context: ExecutionContext,
    next: CallHandler,
    plan: CachedPlan<HttpRequestLike>,
    key: string,
  ): Observable<unknown> {
    const call: RouteCall = {
      context,
      next,
      request: requestOf(context),
      plan,
      ran: false,
      failed: false,
      capture: undefined,
      answered: false,
      subscriber: undefined,
      early: undefined,
    };
    return this.serve(call, key);
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
   * Whether what the handler returned may be stored (its answer is then stored as sent, if that is
   * a `200` without `Set-Cookie`). By default: never a `StreamableFile`, and `null` or `undefined`
   * only with `cacheNullish`. Streams (async iterables, web streams) are never stored either way.
   */
  protected isCacheable(value: unknown, _context: ExecutionContext, route: CachedRoute): boolean {
    return route.store(value);
  }

  /**
   * Answers a request from the cache: an L1 hit synchronously; otherwise once the lookup settles,
   * with this request's own handler value on a miss it ran, or the stored answer of a hit, of a
   * computation it joined, or of a stale entry standing in for a handler that failed or is slow.
   */
  private serve(call: RouteCall, key: string): Observable<unknown> {
    const view = call.plan.view;
    const found = resolve(view, view.fullKey(key), this.origin, call);
    if (!(found instanceof Promise))
      return this.sendStored(call, found.value, 'hit') ? of(found.value) : call.next.handle();
    // The request's state lives on `call`, not in closures stored on it: a closure kept on `call`
    // held this request's whole subscriber chain in its context, and under load those objects
    // outlived two young-generation collections (measured: 2.2 MB instead of 1 MB surviving each
    // scavenge on a Redis hit, and twice the GC time).
    return new Observable<unknown>((subscriber) => {
      call.subscriber = subscriber;
      if (call.early !== undefined) this.answerOwn(call, call.early.value);
      found.then(
        (outcome) => {
          // A request whose own handler ran is answered by it, unless it failed (a stale answer
          // then stands in); a slow one is still waited for, since its answer is what gets stored.
          if (call.answered || (call.ran && !call.failed)) return;
          call.answered = true;
          // A stored answer is emitted as is (no inner observable to allocate and subscribe to).
          if (!this.sendStored(call, outcome.value, outcome.status)) {
            // Subscribed with this subscriber itself: rxjs ties the inner subscription to it, so no
            // teardown of our own is kept per request.
            call.next.handle().subscribe(subscriber);
            return;
          }
          subscriber.next(outcome.value);
          subscriber.complete();
        },
        (err: unknown) => {
          if (call.answered) return;
          call.answered = true;
          subscriber.error(err);
        },
      );
    });
  }

  /** Answers a request with its own handler's value (a miss), once its answer is subscribed to. */
  private answerOwn(call: RouteCall, value: unknown): void {
    const subscriber = call.subscriber;
    if (subscriber === undefined) {
      call.early = { value };
      return;
    }
    if (call.answered) return;
    call.answered = true;
    this.setCacheHeader(call, 'miss');
    subscriber.next(value);
    subscriber.complete();
  }

  /**
   * Runs this request's handler as the origin of a miss: its value goes on to the response (and
   * through the app's interceptors and serializer), and the answer sent is captured; it resolves
   * to that answer when it may be stored, else to `undefined`.
   */
  private runHandler(call: RouteCall): Promise<CachedResponse | undefined> {
    call.ran = true;
    const response: unknown = call.context.getArgByIndex(1);
    const raw = ((response as { raw?: ServerResponse }).raw ?? response) as ServerResponse;
    const clock = call.plan.view.engine.clock;
    const capture = captureResponse(raw, clock, this.cacheControl(call));
    call.capture = capture;
    return lastValueFrom(call.next.handle(), { defaultValue: undefined }).then(
      (value) => {
        if (isStream(value) || !this.isCacheable(value, call.context, call.plan)) capture.cancel();
        this.answerOwn(call, value);
        return capture.sent;
      },
      (err: unknown) => {
        capture.cancel();
        call.failed = true;
        throw err;
      },
    );
  }

  /**
   * Sends a stored answer; true when `value` is what interceptors outside this one are to see (the
   * `CachedResponse` of a route, whose bytes are sent when the framework replies, or a value written
   * under the route's key by other means, `CacheService.set` or `warm`, answered as a handler's
   * would be). False when a computation this request joined stored nothing: this request's own
   * handler runs instead.
   */
  private sendStored(call: RouteCall, value: unknown, status: OriginStatus): boolean {
    if (!(value instanceof CachedResponse)) {
      if (status === 'miss') return false;
      this.setCacheHeader(call, status);
      return true;
    }
    this.setCacheHeader(call, status);
    const notModified = matchesEtag(call.request.headers['if-none-match'], value.etag);
    const cacheControl = this.cacheControl(call);
    const headers =
      cacheControl === undefined
        ? NO_HEADERS
        : { cacheControl, age: ageOf(value, call.plan.view.engine.clock()) };
    this.replayer!(call.context.getArgByIndex(1), value, notModified, headers);
    return true;
  }

  /** The `Cache-Control` of this request's answer (`httpCache`), if any. */
  private cacheControl(call: RouteCall): string | undefined {
    const plan = call.plan.httpCache;
    if (plan === undefined) return undefined;
    const route = call.plan;
    const personal =
      hasCredentials(call.request) ||
      (route.sharedWithCredentials && route.options.scope !== 'public');
    return personal ? plan.private : plan.public;
  }

  /** This application's replay, found once (`null` for an HTTP adapter other than Express and Fastify). */
  private replay(): Replay | null {
    if (this.replayer === undefined)
      this.replayer = replayFor(this.httpAdapterHost.httpAdapter.getType()) ?? null;
    return this.replayer;
  }

  private setCacheHeader(call: RouteCall, status: OriginStatus): void {
    const response: unknown = call.context.getArgByIndex(1); // what switchToHttp().getResponse() reads
    this.httpAdapterHost.httpAdapter.setHeader(response, X_CACHE, X_CACHE_VALUE[status]);
  }
}

/** The error of a decorated route in an application that did not import the module. */
function moduleMissing(): CacheError {
  return new CacheError(
    CacheErrorCode.E_INVALID_OPTION,
    '@Cached and @InvalidateCache need the cache module: import CacheModule.forRoot() (or CacheModule.forRootAsync()) in the application module',
  );
}

/**
 * The request of an HTTP context: argument 0, read directly. `switchToHttp()` would build three
 * closures on every call, and this runs on every request of a cached route.
 */
function requestOf(context: ExecutionContext): HttpRequestLike {
  return context.getArgByIndex<HttpRequestLike>(0);
}

async function invalidateThen(
  plan: InvalidatePlan<HttpRequestLike>,
  request: HttpRequestLike,
  value: unknown,
): Promise<unknown> {
  await runInvalidation(plan, request);
  return value;
}
