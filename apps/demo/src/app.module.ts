import { Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { CacheModule, type CacheModuleOptions } from 'nest-tiered-cache';
import { Database } from './database/database.js';
import { DEMO_CONFIG, loadDemoConfig } from './demo-config.js';
import { HealthController } from './ops/health.controller.js';
import { MetricsController } from './ops/metrics.controller.js';
import { OrdersController } from './orders/orders.controller.js';
import { OrdersService } from './orders/orders.service.js';
import { ProductsController } from './products/products.controller.js';
import { ProductsRepository } from './products/products.repository.js';
import { CacheStatsController } from './stats/cache-stats.controller.js';
import { CatalogueTraffic, CountCatalogueRequests } from './stats/catalogue-traffic.js';
import {
  StoreConfigController,
  StoreSettingsService,
} from './store-config/store-config.controller.js';
import { UsersController, UsersRepository } from './users/users.controller.js';
import { CatalogueWarmup } from './warmup/catalogue-warmup.js';

/**
 * Cache options of the demo, from an environment: namespace `demo:v1`, the embedded memory tier
 * as L1, Redis as L2 when `REDIS_URL` is set (optional: the demo keeps serving without it),
 * everything off with `CACHE_ENABLED=false`, and Prometheus metrics on prom-client's default registry.
 */
export function demoCacheOptions(env: NodeJS.ProcessEnv = process.env): CacheModuleOptions {
  const config = loadDemoConfig(env);
  return {
    namespace: 'demo:v1',
    ttl: '1m',
    local: { backend: 'memory', maxEntries: 10_000, ttl: '30s' },
    ...(config.redisUrl
      ? { shared: { backend: 'redis' as const, url: config.redisUrl, required: false } }
      : {}),
    ...(config.cacheEnabled ? {} : { enabled: false }),
    metrics: true,
  };
}

/** The demo application: a small catalogue API on an embedded SQL database, behind the cache. */
@Module({
  imports: [
    CacheModule.forRoot({ isGlobal: true, ...demoCacheOptions() }),
    CacheModule.forFeature({ name: 'config', ttl: '10m' }),
    TerminusModule,
  ],
  controllers: [
    ProductsController,
    UsersController,
    OrdersController,
    StoreConfigController,
    CacheStatsController,
    HealthController,
    MetricsController,
  ],
  providers: [
    { provide: DEMO_CONFIG, useFactory: () => loadDemoConfig() },
    {
      provide: Database,
      useFactory: async () => {
        const db = await Database.connect(loadDemoConfig().databaseUrl);
        try {
          await db.seed();
        } catch (err) {
          await db.close();
          throw err;
        }
        return db;
      },
    },
    ProductsRepository,
    UsersRepository,
    OrdersService,
    StoreSettingsService,
    CatalogueTraffic,
    CatalogueWarmup,
  ],
})
export class AppModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(CountCatalogueRequests)
      .forRoutes(ProductsController, UsersController, OrdersController, StoreConfigController);
  }
}
