import {
  Injectable,
  StreamableFile,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { from, lastValueFrom, mergeMap, of, type Observable } from 'rxjs';
import { runOrigin } from '../core/origin.js';
import type { CacheEntry } from '../interfaces/cache-backend.interface.js';
import { CachePlanRegistry } from '../explorer/cache-plan.registry.js';
import {
  runInvalidation,
  type CachedPlan,
  type HttpRequestLike,
  type InvalidatePlan,
} from '../explorer/cache-plans.js';

/** The response header that says where a cached route's answer came from. */
export const X_CACHE = 'X-Cache';

interface ResponseLike {
  setHeader?: (name: string, value: string) => unknown;
  header?: (name: string, value: string) => unknown;
}

function setXCache(res: ResponseLike, value: 'HIT' | 'MISS' | 'STALE'): void {
  if (typeof res.setHeader === 'function')
    res.setHeader(X_CACHE, value); // Express, node:http
  else res.header?.(X_CACHE, value); // Fastify
}

/**
 * Serves `@Cached` routes from the cache and runs `@InvalidateCache` after successful routes.
 * Bound by the decorators themselves. Plans are compiled at bootstrap, so a request does a map
 * lookup, resolves its key, and on an L1 hit answers synchronously.
 */
@Injectable()
export class CacheInterceptor implements NestInterceptor {
  constructor(private readonly registry: CachePlanRegistry) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const plans = this.registry.routes.get(context.getHandler());
    if (plans === undefined || context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const req = http.getRequest<HttpRequestLike>();
    let out: Observable<unknown> | undefined;
    const cached = plans.cached;
    if (
      cached !== undefined &&
      cached.methods.has(req.method) &&
      (cached.sharedWithCredentials || !hasCredentials(req))
    ) {
      const key = cached.key(req);
      if (key !== undefined)
        out = this.serve(
          cached,
          req,
          http.getResponse<ResponseLike>(),
          cached.cache.fullKey(key),
          next,
        );
    }
    out ??= next.handle();
    const invalidate = plans.invalidate;
    return invalidate === undefined
      ? out
      : out.pipe(mergeMap((value) => invalidateThen(invalidate, req, value)));
  }

  private serve(
    plan: CachedPlan<HttpRequestLike>,
    req: HttpRequestLike,
    res: ResponseLike,
    key: string,
    next: CallHandler,
  ): Observable<unknown> {
    const engine = plan.cache.engine;
    const now = engine.clock();
    const found = engine.read(key, now);
    // An L2 read: a hit is answered from the read's own continuation, with no async frame of its own.
    if (found instanceof Promise)
      return from(found.then((entry) => this.answer(plan, req, res, key, entry, next)));
    return plan.cache.countRead(found, key, now)
      ? hit(res, found!.value)
      : from(this.miss(plan, req, res, key, found, next));
  }

  /** Counts the read; a hit is returned as is, a miss goes to the origin. */
  private answer(
    plan: CachedPlan<HttpRequestLike>,
    req: HttpRequestLike,
    res: ResponseLike,
    key: string,
    found: CacheEntry | undefined,
    next: CallHandler,
  ): unknown {
    if (plan.cache.countRead(found, key)) {
      setXCache(res, 'HIT');
      return found!.value;
    }
    return this.miss(plan, req, res, key, found, next);
  }

  /** A read that found no fresh entry (already counted): runs the origin once per key, or serves a stale value. */
  private async miss(
    plan: CachedPlan<HttpRequestLike>,
    req: HttpRequestLike,
    res: ResponseLike,
    key: string,
    found: CacheEntry | undefined,
    next: CallHandler,
  ): Promise<unknown> {
    const origin = typeof plan.origin === 'function' ? plan.origin(req) : plan.origin;
    let ranHere = false;
    const outcome = await runOrigin(
      plan.cache,
      key,
      found,
      () => {
        ranHere = true;
        return lastValueFrom(next.handle(), { defaultValue: undefined });
      },
      origin,
    );
    // A stream can be read once: a request that joined another's computation runs its own handler.
    if (!ranHere && outcome.value instanceof StreamableFile)
      return lastValueFrom(next.handle(), { defaultValue: undefined });
    setXCache(
      res,
      outcome.status === 'stale' ? 'STALE' : outcome.status === 'hit' ? 'HIT' : 'MISS',
    );
    return outcome.value;
  }
}

function hit(res: ResponseLike, value: unknown): Observable<unknown> {
  setXCache(res, 'HIT');
  return of(value);
}

function hasCredentials(req: HttpRequestLike): boolean {
  return req.headers.authorization !== undefined || req.headers.cookie !== undefined;
}

async function invalidateThen(
  plan: InvalidatePlan<HttpRequestLike>,
  req: HttpRequestLike,
  value: unknown,
): Promise<unknown> {
  await runInvalidation(plan, req);
  return value;
}
