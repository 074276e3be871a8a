import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { CacheModule as TieredCacheModule } from '../cache.module.js';
import { CacheService } from '../cache.service.js';
import { CACHE_MANAGER } from './cache-manager.constants.js';
import { Cache, TieredCacheManager } from './cache-manager.js';
import {
  toTieredOptions,
  type CacheModuleAsyncOptions,
  type CacheModuleOptions,
  type CacheOptionsFactory,
} from './cache-manager-options.js';

/** Token of the compat options given to `registerAsync` (internal). */
const COMPAT_OPTIONS = Symbol('nest-tiered-cache:compat-options');

/** Holds the providers of `registerAsync`'s options (internal). */
@Module({})
class CacheManagerOptionsModule {}

/** The manager, on the root `CacheService`, under `CACHE_MANAGER` and `Cache`. */
const MANAGER_PROVIDERS: Provider[] = [
  {
    provide: CACHE_MANAGER,
    useFactory: (service: CacheService) => new TieredCacheManager(service),
    inject: [CacheService],
  },
  { provide: Cache, useExisting: CACHE_MANAGER },
];

/**
 * `@nestjs/cache-manager`'s `CacheModule` on `nest-tiered-cache`: `register({ ttl, isGlobal })` and
 * `registerAsync(...)` as there, providing `CACHE_MANAGER` (and `Cache`), plus the options of
 * `nest-tiered-cache`'s `forRoot` for the tiers. It imports and re-exports that module, so
 * `CacheService`, `@Cached` and `@InvalidateCache` work alongside. Register it once.
 */
@Module({})
export class CacheModule {
  /** Registers the cache with static options (`ttl` in ms). */
  static register(options: CacheModuleOptions = {}): DynamicModule {
    return withManager(TieredCacheModule.forRoot(toTieredOptions(options)), options.isGlobal);
  }

  /** Registers the cache with options from `useFactory` + `inject`, `useClass` or `useExisting`. */
  static registerAsync(options: CacheModuleAsyncOptions): DynamicModule {
    const root = TieredCacheModule.forRootAsync({
      isGlobal: options.isGlobal ?? false,
      imports: [
        {
          module: CacheManagerOptionsModule,
          imports: options.imports ?? [],
          providers: [...optionsProviders(options), ...(options.extraProviders ?? [])],
          exports: [COMPAT_OPTIONS],
        },
      ],
      inject: [COMPAT_OPTIONS],
      useFactory: (compat: CacheModuleOptions) => toTieredOptions(compat),
    });
    return withManager(root, options.isGlobal);
  }
}

/** The compat module around the root cache module: the manager providers, and both exported. */
function withManager(root: DynamicModule, isGlobal: boolean | undefined): DynamicModule {
  return {
    module: CacheModule,
    global: isGlobal ?? false,
    imports: [root],
    providers: MANAGER_PROVIDERS,
    exports: [CACHE_MANAGER, Cache, root],
  };
}

/** The providers that give `COMPAT_OPTIONS` from `registerAsync`'s options. */
function optionsProviders(options: CacheModuleAsyncOptions): Provider[] {
  if (options.useFactory !== undefined) {
    return [
      {
        provide: COMPAT_OPTIONS,
        useFactory: options.useFactory as (...args: unknown[]) => unknown,
        inject: options.inject ?? [],
      },
    ];
  }
  const factory = options.useClass ?? options.useExisting;
  if (factory === undefined) {
    throw new TypeError(
      'CacheModule.registerAsync needs one of useFactory, useClass or useExisting',
    );
  }
  return [
    ...(options.useClass === undefined ? [] : [options.useClass]),
    {
      provide: COMPAT_OPTIONS,
      useFactory: (created: CacheOptionsFactory) => created.createCacheOptions(),
      inject: [factory],
    },
  ];
}
