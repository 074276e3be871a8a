import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  Injectable,
  Module,
  Param,
  Res,
  type ExecutionContext,
  type INestApplication,
  type LoggerService,
} from '@nestjs/common';
import { Counter, Registry } from 'prom-client';
import request from 'supertest';
import {
  CacheInterceptor,
  CacheModule,
  CacheService,
  Cached,
  type CachedRoute,
} from 'nest-tiered-cache';
import { RecordingLogger } from '../libs/tiered-cache/test/test-cache.js';
import { HTTP_PLATFORMS, startHttpApp } from './support/http-app.js';

/** The customisation the README shows: per-tenant keys, a bypass header, and no empty lists. */
@Injectable()
class TenantCacheInterceptor extends CacheInterceptor {
  protected override isRequestCacheable(context: ExecutionContext, route: CachedRoute): boolean {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>();
    return request.headers['x-no-cache'] === undefined && super.isRequestCacheable(context, route);
  }

  protected override trackBy(context: ExecutionContext, route: CachedRoute): string | undefined {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>();
    const tenant = request.headers['x-tenant'];
    const key = super.trackBy(context, route);
    return typeof tenant === 'string' && key !== undefined ? `${tenant}:${key}` : undefined;
  }

  protected override isCacheable(
    value: unknown,
    context: ExecutionContext,
    route: CachedRoute,
  ): boolean {
    return (
      !(Array.isArray(value) && value.length === 0) && super.isCacheable(value, context, route)
    );
  }
}

@Controller('items')
class ItemsController {
  calls = 0;

  @Get(':id')
  @Cached({ key: 'item:{id}' })
  async find(@Param('id') id: string) {
    this.calls++;
    return id === 'none' ? [] : { id, call: this.calls };
  }

  @Get('raw/:id')
  @Cached()
  async raw(@Param('id') id: string, @Res() res: { send(body: string): void }) {
    res.send(id);
  }
}

describe.each(HTTP_PLATFORMS)('a CacheInterceptor subclass on $name', ({ adapter }) => {
  let app: INestApplication;
  let controller: ItemsController;
  const logger = new RecordingLogger();
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    // A metric of the same name already registered: the cache's metrics say so through the logger.
    const registry = new Registry();
    new Counter({ name: 'hooks_reads_total', help: 'taken', registers: [registry] });
    @Module({
      imports: [
        CacheModule.forRoot({
          namespace: 'hooks',
          logger: logger as LoggerService,
          metrics: { registry, prefix: 'hooks_' },
        }),
      ],
      controllers: [ItemsController],
      providers: [{ provide: CacheInterceptor, useClass: TenantCacheInterceptor }],
    })
    class AppModule {}
    app = await startHttpApp(AppModule, adapter);
    controller = app.get(ItemsController);
  });
  afterAll(async () => {
    await app.close();
  });

  it('keys each tenant apart with an overridden trackBy', async () => {
    const a1 = await http().get('/items/1').set('x-tenant', 'a').expect(200);
    const a2 = await http().get('/items/1').set('x-tenant', 'a').expect(200);
    const b1 = await http().get('/items/1').set('x-tenant', 'b').expect(200);
    expect([a1.headers['x-cache'], a2.headers['x-cache'], b1.headers['x-cache']]).toEqual([
      'MISS',
      'HIT',
      'MISS',
    ]);
    expect(a2.body).toEqual(a1.body);
    expect(b1.body).not.toEqual(a1.body);
    expect(await app.get(CacheService).has('a:item:1')).toBe(true);
    expect(await app.get(CacheService).has('item:1')).toBe(false);
  });

  it('skips the cache when trackBy gives no key or isRequestCacheable says no', async () => {
    const before = controller.calls;
    const anonymous = await http().get('/items/2').expect(200);
    expect(anonymous.headers['x-cache']).toBeUndefined();
    await http().get('/items/2').set('x-tenant', 'a').expect(200);
    const bypass = await http().get('/items/2').set('x-tenant', 'a').set('x-no-cache', '1');
    expect(bypass.headers['x-cache']).toBeUndefined();
    expect(controller.calls - before).toBe(3);
    const hit = await http().get('/items/2').set('x-tenant', 'a').expect(200);
    expect(hit.headers['x-cache']).toBe('HIT');
  });

  it('does not store what an overridden isCacheable refuses', async () => {
    const first = await http().get('/items/none').set('x-tenant', 'a').expect(200);
    const second = await http().get('/items/none').set('x-tenant', 'a').expect(200);
    expect(first.body).toEqual([]);
    expect([first.headers['x-cache'], second.headers['x-cache']]).toEqual(['MISS', 'MISS']);
    expect(await app.get(CacheService).has('a:item:none')).toBe(false);
  });

  it('the explorer and the metrics log through the logger module option', () => {
    expect(logger.matching('warn', '@Cached on ItemsController.raw is ignored')).toHaveLength(1);
    expect(logger.matching('warn', 'metric hooks_reads_total is already registered')).toHaveLength(
      1,
    );
  });
});
