import { Controller, Get } from '@nestjs/common';
import { CacheService, type CacheStats } from 'nest-tiered-cache';
import { ProductsRepository } from './products/products.repository.js';

/** `GET /cache/stats`: the cache's counters and the database queries it saved. */
@Controller('cache')
export class CacheStatsController {
  constructor(
    private readonly cache: CacheService,
    private readonly products: ProductsRepository,
  ) {}

  @Get('stats')
  stats(): CacheStats & { databaseQueries: number } {
    return { ...this.cache.stats(), databaseQueries: this.products.queries };
  }
}
