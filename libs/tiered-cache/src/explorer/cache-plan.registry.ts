import { Injectable, type CallHandler, type ExecutionContext } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { HttpRequestLike, MethodPlans } from './cache-plans.js';

/** The compiled plans of every `@Cached` / `@InvalidateCache` route, by handler function. */
@Injectable()
export class CachePlanRegistry {
  /** @internal Route handler → its plans; filled at bootstrap by the explorer, read by the interceptor. */
  readonly routes = new WeakMap<Function, MethodPlans<HttpRequestLike>>();
  /**
   * @internal The application's own subclass of `CacheInterceptor`, when it registered one as a
   * provider: the interceptor the decorators bind hands every request to it.
   */
  interceptor:
    { intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> } | undefined;
}
