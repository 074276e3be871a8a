import {
  Inject,
  Injectable,
  type LoggerService,
  type OnModuleInit,
  type Type,
} from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModuleRef } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { CACHE_ENGINE, CACHE_RESOLVED_OPTIONS, getCacheToken } from '../cache.constants.js';
import { CacheError, CacheErrorCode } from '../cache.errors.js';
import { registeredCacheNames } from '../cache-names.js';
import { CacheService } from '../cache.service.js';
import { atomicTier } from '../core/atomic-origin.js';
import type { Origin } from '../core/origin-plan.js';
import { resolve } from '../core/resolve.js';
import type { ResolvedCacheOptions } from '../core/resolve-options.js';
import type { TieredCache } from '../core/tiered-cache.js';
import { CacheInterceptor } from '../interceptors/cache.interceptor.js';
import type { CachedOptions } from '../interfaces/decorator-options.interface.js';
import type { TemplateResolver } from '../keys/key-template.js';
import { parameterNames } from '../keys/param-names.js';
import { CacheMetadataAccessor } from './cache-metadata.accessor.js';
import { CachePlanRegistry } from './cache-plan.registry.js';
import {
  compileCachedPlan,
  compileInvalidatePlan,
  defaultMethodKey,
  methodBinder,
  planOf,
  runInvalidation,
  type CachedPlan,
  type HttpRequestLike,
  type InvalidatePlan,
  type TemplateBinder,
} from './cache-plans.js';
import { defaultRouteKeyFor, routeBinder } from './route-keys.js';
import { routeParamNames, routeVersion } from './route-params.js';

type AnyMethod = (...args: unknown[]) => unknown;

/**
 * At bootstrap, finds every `@Cached` / `@InvalidateCache` method: compiles the plans of controller
 * routes for the interceptor (routes are registered before this runs, so they are not wrapped) and
 * wraps provider methods in place. Any bad template fails bootstrap, naming class, method and
 * placeholder. Request-scoped providers cannot be wrapped and are reported.
 */
@Injectable()
export class CacheExplorer implements OnModuleInit {
  private readonly wrapped = new WeakSet<object>();
  /** The `logger` module option (or Nest's `Logger`), as the engine got it. */
  private readonly logger: LoggerService;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly moduleRef: ModuleRef,
    private readonly registry: CachePlanRegistry,
    private readonly metadata: CacheMetadataAccessor,
    @Inject(CACHE_ENGINE) private readonly engine: TieredCache,
    @Inject(CACHE_RESOLVED_OPTIONS) private readonly options: ResolvedCacheOptions,
  ) {
    this.logger = engine.logger;
  }

  onModuleInit(): void {
    for (const wrapper of this.discovery.getControllers()) this.exploreController(wrapper);
    for (const wrapper of this.discovery.getProviders()) {
      this.findCustomInterceptor(wrapper);
      this.exploreProvider(wrapper);
    }
  }

  /** Notes the application's own subclass of `CacheInterceptor`, if it registered one as a provider. */
  private findCustomInterceptor(wrapper: InstanceWrapper): void {
    const { instance } = wrapper;
    if (!(instance instanceof CacheInterceptor) || instance.constructor === CacheInterceptor)
      return;
    const known = this.registry.interceptor;
    if (known !== undefined && known !== instance) {
      throw new CacheError(
        CacheErrorCode.E_INVALID_OPTION,
        `two CacheInterceptor subclasses are registered as providers (${known.constructor.name} and ${instance.constructor.name}); register one`,
      );
    }
    this.registry.interceptor = instance;
  }

  private exploreController(wrapper: InstanceWrapper): void {
    const controller = wrapper.metatype as Type | undefined;
    if (typeof controller !== 'function' || controller.prototype === undefined) return;
    for (const name of this.scanner.getAllMethodNames(controller.prototype)) {
      const handler = controller.prototype[name] as Function;
      const cachedOptions = this.metadata.cached(handler);
      const invalidateOptions = this.metadata.invalidate(handler);
      if (cachedOptions === undefined && invalidateOptions === undefined) continue;
      const where = `${controller.name}.${name}`;
      const binder = routeBinder(routeParamNames(controller, handler, wrapper.host?.metatype));
      let cached: CachedPlan<HttpRequestLike> | undefined;
      if (cachedOptions !== undefined) {
        if (this.metadata.usesResponseObject(controller, name)) {
          this.logger.warn(
            `@Cached on ${where} is ignored: a route that uses @Res() or @Next() sends its own response and is never cached`,
          );
        } else {
          const defaultKey = defaultRouteKeyFor(routeVersion(controller, handler));
          cached = this.cachedPlan(cachedOptions, binder, defaultKey, `@Cached on ${where}`);
        }
      }
      const invalidate =
        invalidateOptions &&
        compileInvalidatePlan(
          invalidateOptions,
          this.cacheFor(invalidateOptions.cache, `@InvalidateCache on ${where}`),
          binder,
          `@InvalidateCache on ${where}`,
        );
      this.registry.routes.set(handler, {
        ...(cached && { cached }),
        ...(invalidate && { invalidate }),
      });
    }
  }

  private exploreProvider(wrapper: InstanceWrapper): void {
    const { instance } = wrapper;
    const metatype = wrapper.metatype as Type | undefined;
    if (wrapper.isAlias || typeof metatype !== 'function') return;
    if (!wrapper.isDependencyTreeStatic()) return this.reportNonStatic(metatype);
    if (instance === null || typeof instance !== 'object' || this.wrapped.has(instance)) return;
    this.wrapped.add(instance);
    const prototype = Object.getPrototypeOf(instance) as object;
    for (const name of this.scanner.getAllMethodNames(prototype)) {
      const method = (prototype as Record<string, unknown>)[name] as AnyMethod;
      const cachedOptions = this.metadata.cached(method);
      const invalidateOptions = this.metadata.invalidate(method);
      if (cachedOptions === undefined && invalidateOptions === undefined) continue;
      const where = `${metatype.name}.${name}`;
      const binder = methodBinder(parameterNames(method));
      let call: AnyMethod = method;
      if (cachedOptions !== undefined) {
        if (cachedOptions.httpCache !== undefined) {
          throw new CacheError(
            CacheErrorCode.E_INVALID_OPTION,
            `@Cached on ${where}: invalid option "httpCache": it sets HTTP headers, so it applies to controller routes only; remove it from this provider method`,
          );
        }
        const plan = this.cachedPlan(
          cachedOptions,
          binder,
          defaultMethodKey(metatype.name, name),
          `@Cached on ${where}`,
        );
        call = cachedMethod(plan, method);
      }
      if (invalidateOptions !== undefined) {
        const label = `@InvalidateCache on ${where}`;
        call = invalidatingMethod(
          compileInvalidatePlan(
            invalidateOptions,
            this.cacheFor(invalidateOptions.cache, label),
            binder,
            label,
          ),
          call,
        );
      }
      (instance as Record<string, unknown>)[name] = call;
    }
  }

  private cachedPlan<C>(
    options: CachedOptions,
    binder: TemplateBinder<C>,
    defaultKey: TemplateResolver<C>,
    where: string,
  ): CachedPlan<C> {
    const cache = this.cacheFor(options.cache, where);
    if (
      options.atomic !== undefined &&
      this.options.enabled &&
      atomicTier(this.engine) === undefined
    ) {
      throw new CacheError(
        CacheErrorCode.E_INVALID_OPTION,
        `${where}: atomic: '${options.atomic}' needs a redis-atomic shared tier, or one whose backend implements AtomicCacheBackend (the shared tier is ${this.engine.shared?.backend.name ?? 'not configured'})`,
      );
    }
    return compileCachedPlan(options, cache, binder, defaultKey, where);
  }

  private cacheFor(name: string | undefined, where: string): CacheService {
    try {
      return name === undefined
        ? this.moduleRef.get(CacheService, { strict: false })
        : this.moduleRef.get<CacheService>(getCacheToken(name), { strict: false });
    } catch {
      throw new CacheError(
        CacheErrorCode.E_INVALID_OPTION,
        name === undefined
          ? `${where}: no CacheService is registered; import CacheModule.forRoot()`
          : `${where}: cache "${name}" is not registered; add CacheModule.forFeature({ name: '${name}' }) (registered: ${registeredCacheNames()})`,
      );
    }
  }

  private reportNonStatic(metatype: Type): void {
    const decorated = this.scanner
      .getAllMethodNames(metatype.prototype)
      .filter((name) => this.metadata.isDecorated(metatype.prototype[name] as Function));
    if (decorated.length > 0) {
      this.logger.warn(
        `${metatype.name} is request-scoped or transient: @Cached/@InvalidateCache on ${decorated.join(', ')} cannot be applied; make it a singleton or use CacheService`,
      );
    }
  }
}

/** One call of a `@Cached` provider method, as handed to the one resolve path. */
interface MethodCall {
  readonly self: unknown;
  readonly args: unknown[];
}

/** A provider method served from the cache; it becomes asynchronous. */
function cachedMethod(plan: CachedPlan<readonly unknown[]>, original: AnyMethod): AnyMethod {
  const origin: Origin<MethodCall> = {
    tier: () => plan.tier,
    plan: (call) => planOf(plan, call.args),
    run: (call) => original.apply(call.self, call.args),
    store: (value) => plan.store(value),
  };
  return async function cached(this: unknown, ...args: unknown[]): Promise<unknown> {
    const key = plan.key(args);
    if (key === undefined) return original.apply(this, args);
    const found = await resolve(plan.view, plan.view.fullKey(key), origin, { self: this, args });
    return found.value;
  };
}

/** A provider method followed, when it succeeds, by its invalidation. */
function invalidatingMethod(
  plan: InvalidatePlan<readonly unknown[]>,
  original: AnyMethod,
): AnyMethod {
  return async function invalidating(this: unknown, ...args: unknown[]): Promise<unknown> {
    const result = await original.apply(this, args);
    await runInvalidation(plan, args);
    return result;
  };
}
