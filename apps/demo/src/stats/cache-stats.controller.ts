import { Controller, Get, Inject } from '@nestjs/common';
import { CacheService, type CacheStats } from 'nest-tiered-cache';
import { Database } from '../database/database.js';
import { DEMO_CONFIG, type DemoConfig } from '../demo-config.js';
import { CatalogueTraffic } from './catalogue-traffic.js';

/** The database side of `/cache/stats`. */
export interface DatabaseStats {
  /** Queries issued since start (seeding excluded; the boot warm-up included). */
  queries: number;
  /** Catalogue requests answered since start. */
  requestsServed: number;
  /** requestsServed - queries, never below 0. */
  queriesAvoided: number;
}

/** `GET /cache/stats`: the cache's counters and the database queries it saved. */
@Controller('cache')
export class CacheStatsController {
  constructor(
    private readonly cache: CacheService,
    private readonly db: Database,
    private readonly traffic: CatalogueTraffic,
    @Inject(DEMO_CONFIG) private readonly config: DemoConfig,
  ) {}

  @Get('stats')
  stats(): CacheStats & { enabled: boolean; database: DatabaseStats } {
    const queries = this.db.queries;
    const requestsServed = this.traffic.requestsServed;
    // Every catalogue route costs exactly one query when it is not answered from the cache, so
    // without the cache `queries` would equal `requestsServed`; the difference is what the cache
    // saved. The warm-up's query counts against the savings (it was spent to make them), and
    // requests rejected before touching the database are not counted as served. Clamped at 0:
    // right after boot the warm-up query can exceed the requests answered so far.
    return {
      enabled: this.config.cacheEnabled,
      ...this.cache.stats(),
      database: { queries, requestsServed, queriesAvoided: Math.max(0, requestsServed - queries) },
    };
  }
}
