import { Injectable } from '@nestjs/common';
import type { HttpRequestLike, MethodPlans } from './cache-plans.js';

/** The compiled plans of every `@Cached` / `@InvalidateCache` route, by handler function. */
@Injectable()
export class CachePlanRegistry {
  /** Route handler → its plans; filled at bootstrap by the explorer, read by the interceptor. */
  readonly routes = new WeakMap<Function, MethodPlans<HttpRequestLike>>();
}
