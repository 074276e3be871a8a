import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { CacheHealthIndicator } from 'nest-tiered-cache';

/**
 * `GET /health`: 200 with `status: 'ok'` when every cache tier answers its probe, 200 with
 * `'degraded'` when only an optional tier (Redis with `required: false`) is down, 503 otherwise.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly cache: CacheHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.cache.isHealthy('cache')]);
  }
}
