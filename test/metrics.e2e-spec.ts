import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  Header,
  Inject,
  Module,
  Param,
  type INestApplication,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import request from 'supertest';
import { CacheModule, CacheService, Cached, getCacheToken, NullBackend } from 'nest-tiered-cache';
import { RedisServerHarness } from '../libs/tiered-cache/test/redis-server.harness.js';
import { waitFor } from '../libs/tiered-cache/test/wait-for.js';

const registry = new Registry();

/** A shared tier whose reads always fail, to see errors counted by code. */
class BrokenBackend extends NullBackend {
  override readonly name = 'broken';
  override get(): never {
    throw new Error('connection refused');
  }
}

@Controller()
class MetricsController {
  constructor(@Inject(getCacheToken('guild')) private readonly guilds: CacheService) {}

  @Get('items/:id')
  @Cached({ key: 'item:{id}' })
  async item(@Param('id') id: string) {
    return { id };
  }

  @Get('guilds/:id')
  guild(@Param('id') id: string) {
    return this.guilds.getOrSet(`guild:${id}`, () => ({ id }));
  }

  @Get('metrics')
  @Header('content-type', registry.contentType)
  metrics() {
    return registry.metrics();
  }
}

@Module({
  imports: [
    CacheModule.forRoot({
      isGlobal: true,
      metrics: { registry },
      local: { backend: 'memory' },
      shared: { backend: new BrokenBackend() },
    }),
    CacheModule.forFeature({ name: 'guild' }),
  ],
  controllers: [MetricsController],
})
class AppModule {}

describe('Prometheus metrics', () => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });
  afterAll(async () => {
    await app.close();
  });

  it('exports counters per cache and tier after known traffic, with bounded labels', async () => {
    const http = request(app.getHttpServer());
    for (let i = 0; i < 4; i++) await http.get('/items/1').expect(200);
    await http.get('/items/2').expect(200);
    await http.get('/guilds/9').expect(200);
    await http.get('/guilds/9').expect(200);
    const text = (await http.get('/metrics').expect(200)).text;
    expect(text).toContain('nest_tiered_cache_reads_total{cache="default",result="hit"} 3');
    expect(text).toContain('nest_tiered_cache_reads_total{cache="default",result="miss"} 2');
    expect(text).toContain('nest_tiered_cache_reads_total{cache="guild",result="hit"} 1');
    expect(text).toContain('nest_tiered_cache_reads_total{cache="guild",result="miss"} 1');
    expect(text).toContain(
      'nest_tiered_cache_tier_reads_total{tier="local",backend="memory",result="hit"} 4',
    );
    expect(text).toContain(
      'nest_tiered_cache_tier_reads_total{tier="local",backend="memory",result="miss"} 3',
    );
    expect(text).toContain(
      'nest_tiered_cache_errors_total{tier="shared",backend="broken",code="E_BACKEND_ERROR"} 3',
    );
    expect(text).toContain('nest_tiered_cache_entries{tier="local",backend="memory"} 3');
    expect(text).toContain('nest_tiered_cache_tier_available{tier="shared",backend="broken"} 0');
    expect(text).toMatch(
      /nest_tiered_cache_operation_duration_seconds\{tier="local",backend="memory",op="get",quantile="0.99"\} \d/,
    );
    expect(text).toContain('# TYPE nest_tiered_cache_reads_total counter');
    expect(text).not.toMatch(/item:1|guild:9/);
  });

  it('has a Grafana dashboard that uses only metrics the library exports', () => {
    const dashboard = readFileSync(
      new URL('../libs/tiered-cache/docs/grafana-dashboard.json', import.meta.url),
      'utf8',
    );
    const used = new Set(dashboard.match(/nest_tiered_cache_\w+/g));
    expect(used.size).toBeGreaterThanOrEqual(6);
    for (const name of used)
      expect({ name, registered: registry.getSingleMetric(name) !== undefined }).toEqual({
        name,
        registered: true,
      });
  });

  it('unregisters its metrics when the application closes', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [CacheModule.forRoot({ metrics: { registry, prefix: 'other_cache_' } })],
    }).compile();
    const other = await moduleRef.init();
    expect(registry.getSingleMetric('other_cache_reads_total')).toBeDefined();
    await other.close();
    expect(registry.getSingleMetric('other_cache_reads_total')).toBeUndefined();
  });

  it('exports the invalidation bus when an L1 sits in front of Redis', async () => {
    const redis = await RedisServerHarness.start();
    const busRegistry = new Registry();
    const moduleRef = await Test.createTestingModule({
      imports: [
        CacheModule.forRoot({
          metrics: { registry: busRegistry },
          local: { backend: 'memory' },
          shared: { backend: 'redis', url: redis.url },
        }),
      ],
    }).compile();
    const other = await moduleRef.init();
    try {
      await other.get(CacheService).deletePattern('user:*'); // an explicit bus message
      await waitFor(
        async () => (await busRegistry.metrics()).includes('event="sent"} 1'),
        'the pattern delete is published',
      );
      const text = await busRegistry.metrics();
      expect(text).toContain('nest_tiered_cache_bus_connected{mode="tracking"} 1');
      expect(text).toContain('nest_tiered_cache_bus_events_total{event="received"} 0');
      expect(text).toContain('nest_tiered_cache_bus_events_total{event="l1_drop"} 0');
      expect(text).toContain('nest_tiered_cache_bus_queued 0');
      expect(text).not.toMatch(/user:/);
    } finally {
      await other.close();
      await redis.stop();
    }
  });
});
