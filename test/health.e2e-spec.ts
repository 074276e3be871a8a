import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { Redis } from 'ioredis';
import {
  CacheHealthIndicator,
  CacheModule,
  CacheService,
  type CacheModuleOptions,
} from 'nest-tiered-cache';
import { CACHE_ENGINE } from '../libs/tiered-cache/src/cache.constants.js';
import type { TieredCache } from '../libs/tiered-cache/src/core/tiered-cache.js';
import { RedisServerHarness } from '../libs/tiered-cache/test/redis-server.harness.js';
import { waitFor } from '../libs/tiered-cache/test/wait-for.js';

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly cache: CacheHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.cache.isHealthy('cache', { timeout: '300ms' })]);
  }
}

async function boot(options: CacheModuleOptions): Promise<INestApplication> {
  @Module({
    imports: [TerminusModule, CacheModule.forRoot(options)],
    controllers: [HealthController],
  })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

function redisReady(app: INestApplication): Promise<void> {
  const engine = app.get<TieredCache>(CACHE_ENGINE, { strict: false });
  const backend = engine.shared!.backend as unknown as { store: { client: Redis } };
  const client = backend.store.client;
  return client.status === 'ready'
    ? Promise.resolve()
    : new Promise((resolve) => client.once('ready', () => resolve()));
}

describe('CacheHealthIndicator with @nestjs/terminus', () => {
  let redis: RedisServerHarness;
  let app: INestApplication | undefined;
  let dir: string;

  beforeAll(async () => {
    redis = await RedisServerHarness.start();
    dir = mkdtempSync(path.join(os.tmpdir(), 'ntc-health-'));
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    redis.resume();
    if (!redis.running) await redis.restart();
  });
  afterAll(async () => {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports every tier up with its backend, latency, entries and connection state', async () => {
    app = await boot({
      local: { backend: 'memory' },
      shared: { backend: 'redis', url: redis.url },
    });
    await app.get(CacheService).set('k', 1);
    const res = await request(app.getHttpServer()).get('/health').expect(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.details.cache).toEqual({
      status: 'up',
      local: {
        backend: 'memory',
        status: 'up',
        required: true,
        entries: 1,
        latencyMs: expect.any(Number),
      },
      shared: {
        backend: 'redis',
        status: 'up',
        required: true,
        connection: 'ready',
        latencyMs: expect.any(Number),
      },
      bus: {
        status: 'up',
        mode: 'tracking',
        sent: expect.any(Number),
        received: 0,
        publishFailures: 0,
        queued: expect.any(Number),
        gaps: 0,
        localDrops: 0,
      },
    });
  });

  it('has no bus entry without an L1 in front of Redis, nor with bus: false', async () => {
    app = await boot({ shared: { backend: 'redis', url: redis.url } });
    let res = await request(app.getHttpServer()).get('/health').expect(200);
    expect(res.body.details.cache.bus).toBeUndefined();
    await app.close();
    app = await boot({
      local: { backend: 'memory' },
      shared: { backend: 'redis', url: redis.url },
      bus: false,
    });
    res = await request(app.getHttpServer()).get('/health').expect(200);
    expect(res.body.details.cache.bus).toBeUndefined();
  });

  it('probes the filesystem with a write-read-delete', async () => {
    app = await boot({ local: { backend: 'filesystem', dir } });
    const res = await request(app.getHttpServer()).get('/health').expect(200);
    expect(res.body.details.cache.local).toMatchObject({ backend: 'filesystem', status: 'up' });
  });

  it('is down when a required Redis is killed, and up again when it is back', async () => {
    app = await boot({
      local: { backend: 'memory' },
      shared: { backend: 'redis', url: redis.url },
    });
    await redis.kill();
    const down = await request(app.getHttpServer()).get('/health').expect(503);
    expect(down.body.status).toBe('error');
    expect(down.body.details.cache.shared).toMatchObject({
      status: 'down',
      error: 'E_BACKEND_ERROR',
      connection: expect.not.stringMatching(/^ready$/),
    });
    expect(down.body.details.cache.local.status).toBe('up');
    expect(down.body.details.cache.bus).toMatchObject({ status: 'down' });
    await redis.restart();
    await redisReady(app);
    await waitFor(
      async () =>
        (await request(app!.getHttpServer()).get('/health')).body.details.cache.status === 'up',
      'the shared tier and the bus are up again',
    );
    const up = await request(app.getHttpServer()).get('/health').expect(200);
    expect(up.body.details.cache.bus).toMatchObject({ status: 'up', localDrops: 1 });
  });

  it('is degraded, not down, when a shared tier with required: false is killed', async () => {
    app = await boot({
      local: { backend: 'memory' },
      shared: { backend: 'redis', url: redis.url, required: false },
    });
    await redis.kill();
    const res = await request(app.getHttpServer()).get('/health').expect(200);
    expect(res.body.details.cache.status).toBe('degraded');
    expect(res.body.details.cache.shared).toMatchObject({ status: 'down', required: false });
  });

  it('answers down within its timeout when Redis hangs (SIGSTOP)', async () => {
    app = await boot({
      local: { backend: 'memory' },
      shared: { backend: 'redis', url: redis.url },
    });
    redis.pause();
    const started = performance.now();
    const res = await request(app.getHttpServer()).get('/health').expect(503);
    const elapsed = performance.now() - started;
    expect(res.body.details.cache.shared).toMatchObject({
      status: 'down',
      error: 'E_BACKEND_TIMEOUT',
    });
    expect(res.body.details.cache.shared.latencyMs).toBeGreaterThanOrEqual(200); // it waited for a deadline, not for a refusal
    expect(elapsed).toBeLessThan(3_000);
    redis.resume();
  });
});
