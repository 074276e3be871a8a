import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { CacheService } from 'nest-tiered-cache';
import { DEMO_CONFIG, type DemoConfig } from '../demo-config.js';
import { ProductsRepository } from '../products/products.repository.js';

/** How many of the most popular products are loaded into the cache at boot. */
export const WARM_UP_PRODUCTS = 100;

/**
 * Loads the most popular products into the cache before the first request, under the very keys
 * of `GET /products/:id` (`product:<id>`), so those requests are hits from the start. One query
 * for the whole list; the library logs the warm-up's progress.
 */
@Injectable()
export class CatalogueWarmup implements OnApplicationBootstrap {
  private readonly logger = new Logger('Warmup');

  constructor(
    private readonly cache: CacheService,
    private readonly products: ProductsRepository,
    @Inject(DEMO_CONFIG) private readonly config: DemoConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.cacheEnabled) {
      this.logger.log('cache disabled (CACHE_ENABLED=false): no warm-up');
      return;
    }
    const popular = await this.products.mostPopular(WARM_UP_PRODUCTS);
    // Same key, TTL and tags as the route's @Cached, so a warmed entry is what the route would have stored.
    await this.cache.warm(
      popular.map((product) => ({
        key: `product:${product.id}`,
        load: () => product,
        ttl: '5m',
        tags: ['products'],
      })),
      { concurrency: 16 },
    );
  }
}
