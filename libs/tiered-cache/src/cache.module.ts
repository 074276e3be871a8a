import {
  Inject,
  Module,
  type DynamicModule,
  type OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { CACHE_ENGINE, CACHE_RESOLVED_OPTIONS, getCacheToken } from './cache.constants.js';
import {
  CACHE_ASYNC_OPTIONS_TYPE,
  CACHE_MODULE_OPTIONS,
  CACHE_OPTIONS_TYPE,
  ConfigurableCacheCoreModule,
} from './cache.module-definition.js';
import { CacheService } from './cache.service.js';
import { registerCacheName, withUnknownCacheStandIns } from './cache-names.js';
import { CacheError, CacheErrorCode } from './cache.errors.js';
import { CacheHealthIndicator } from './health/cache-health.indicator.js';
import { CacheMetrics } from './metrics/prometheus.metrics.js';
import { CacheExplorer } from './explorer/cache.explorer.js';
import { CachePlanRegistry } from './explorer/cache-plan.registry.js';
import { CacheMetadataAccessor } from './explorer/cache-metadata.accessor.js';
import { createTieredCache } from './core/create-tiers.js';
import { parseDuration, parsePositiveDuration } from './core/duration.js';
import {
  invalidOption,
  resolveOptions,
  validateNamespace,
  type ResolvedCacheOptions,
} from './core/resolve-options.js';
import type { TieredCache } from './core/tiered-cache.js';
import type {
  CacheFeatureOptions,
  CacheModuleOptions,
} from './interfaces/cache-module-options.interface.js';

/** Holds the engine for the whole application and closes it on shutdown (internal, always global). */
@Module({
  imports: [DiscoveryModule],
  providers: [
    CachePlanRegistry,
    CacheMetadataAccessor,
    CacheExplorer,
    CacheMetrics,
    {
      provide: CACHE_RESOLVED_OPTIONS,
      useFactory: (options: CacheModuleOptions) => resolveOptions(options),
      inject: [CACHE_MODULE_OPTIONS],
    },
    {
      provide: CACHE_ENGINE,
      useFactory: (resolved: ResolvedCacheOptions) => createTieredCache(resolved),
      inject: [CACHE_RESOLVED_OPTIONS],
    },
  ],
  exports: [CACHE_ENGINE, CACHE_RESOLVED_OPTIONS, CachePlanRegistry],
})
export class CacheCoreModule extends ConfigurableCacheCoreModule implements OnApplicationShutdown {
  /** @internal */
  constructor(@Inject(CACHE_ENGINE) private readonly engine: TieredCache) {
    super();
  }

  /** Closes connections, timers and files when the application closes. */
  async onApplicationShutdown(): Promise<void> {
    await this.engine.close();
  }
}

const rootCacheProvider: Provider = {
  provide: CacheService,
  useFactory: (engine: TieredCache, resolved: ResolvedCacheOptions) =>
    new CacheService(engine, {
      name: undefined,
      namespace: resolved.namespace,
      ttlMs: resolved.ttlMs,
      graceMs: resolved.graceMs,
    }),
  inject: [CACHE_ENGINE, CACHE_RESOLVED_OPTIONS],
};

/**
 * The cache module. `forRoot` / `forRootAsync` once in the application (with `isGlobal: true` the
 * `CacheService` is injectable everywhere), `forFeature` for named caches.
 */
@Module({})
export class CacheModule {
  /** Registers the cache with static options. */
  static forRoot(options: typeof CACHE_OPTIONS_TYPE = {}): DynamicModule {
    return {
      module: CacheModule,
      global: options.isGlobal ?? false,
      imports: [withUnknownCacheStandIns(CacheCoreModule.forRoot(options))],
      providers: [rootCacheProvider, CacheHealthIndicator],
      exports: [CacheService, CacheHealthIndicator],
    };
  }

  /** Registers the cache with options from a factory (`useFactory` + `inject`), `useClass` or `useExisting`. */
  static forRootAsync(options: typeof CACHE_ASYNC_OPTIONS_TYPE): DynamicModule {
    return {
      module: CacheModule,
      global: options.isGlobal ?? false,
      imports: [withUnknownCacheStandIns(CacheCoreModule.forRootAsync(options))],
      providers: [rootCacheProvider, CacheHealthIndicator],
      exports: [CacheService, CacheHealthIndicator],
    };
  }

  /**
   * Registers a named cache: a view of the root cache under its own namespace (default
   * `<root namespace>:<name>`) with its own default TTL and grace. Inject it with `@InjectCache(name)`.
   */
  static forFeature(...features: CacheFeatureOptions[]): DynamicModule {
    const providers = features.map((feature): Provider => {
      if (typeof feature?.name !== 'string' || !/^[\w.-]{1,100}$/.test(feature.name)) {
        throw invalidOption(
          'forFeature.name',
          `${JSON.stringify(feature?.name)} must be 1-100 letters, digits, "_", "-" or "."`,
        );
      }
      if (feature.namespace !== undefined)
        validateNamespace(feature.namespace, `forFeature(${feature.name}).namespace`);
      const ttlMs =
        feature.ttl === undefined
          ? undefined
          : parsePositiveDuration(feature.ttl, `forFeature(${feature.name}).ttl`);
      const graceMs =
        feature.grace === undefined
          ? undefined
          : parseDuration(feature.grace, `forFeature(${feature.name}).grace`);
      registerCacheName(feature.name);
      return {
        provide: getCacheToken(feature.name),
        useFactory: (engine?: TieredCache, root?: ResolvedCacheOptions) => {
          if (engine === undefined || root === undefined) throw rootMissing(feature.name);
          return new CacheService(engine, {
            name: feature.name,
            namespace: feature.namespace ?? `${root.namespace}:${feature.name}`,
            ttlMs: ttlMs ?? root.ttlMs,
            graceMs: graceMs ?? root.graceMs,
          });
        },
        // Optional, so that a missing forRoot is reported by name rather than by internal tokens.
        inject: [
          { token: CACHE_ENGINE, optional: true },
          { token: CACHE_RESOLVED_OPTIONS, optional: true },
        ],
      };
    });
    return {
      module: CacheModule,
      providers,
      exports: providers.map((p) => (p as { provide: symbol }).provide),
    };
  }
}

/** The error of a `forFeature` cache in an application without the root module. */
function rootMissing(name: string): CacheError {
  return new CacheError(
    CacheErrorCode.E_INVALID_OPTION,
    `CacheModule.forFeature({ name: '${name}' }) needs CacheModule.forRoot() (or CacheModule.forRootAsync()): import it once, in the application module`,
  );
}
