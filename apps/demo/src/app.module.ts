import { Module } from '@nestjs/common';
import { CacheModule, type CacheModuleOptions } from 'nest-tiered-cache';
import { CacheStatsController } from './cache-stats.controller.js';
import { ProductsController } from './products/products.controller.js';
import { ProductsRepository } from './products/products.repository.js';

/** Cache options of the demo: the embedded memory tier, plus Redis as L2 when `REDIS_URL` is set. */
export function demoCacheOptions(env: NodeJS.ProcessEnv = process.env): CacheModuleOptions {
  return {
    namespace: 'demo:v1',
    ttl: '1m',
    local: { backend: 'memory', maxEntries: 10_000, ttl: '30s' },
    ...(env.REDIS_URL ? { shared: { backend: 'redis' as const, url: env.REDIS_URL } } : {}),
  };
}

/** The demo application. */
@Module({
  imports: [CacheModule.forRoot({ isGlobal: true, ...demoCacheOptions() })],
  controllers: [ProductsController, CacheStatsController],
  providers: [ProductsRepository],
})
export class AppModule {}
