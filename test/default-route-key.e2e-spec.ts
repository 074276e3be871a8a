import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Body,
  Controller,
  Get,
  Injectable,
  Module,
  Param,
  Put,
  Version,
  VersioningType,
  type INestApplication,
} from '@nestjs/common';
import request from 'supertest';
import { CacheModule, CacheService, Cached, InvalidateCache } from 'nest-tiered-cache';
import { HTTP_PLATFORMS, startHttpApp } from './support/http-app.js';

/**
 * Issue 13, sibling of point 4: a route without a key template is keyed by the route the router
 * matched and its decoded params, so the spellings of one URL that reach the same handler with the
 * same params share one entry, and an invalidation of the resource removes it for all of them.
 */
@Injectable()
class Catalog {
  names = new Map<string, string>();
  runs = 0;
}

@Controller('products')
class ProductsController {
  constructor(private readonly catalog: Catalog) {}

  @Get(':id')
  @Cached()
  async find(@Param('id') id: string) {
    return { id, name: this.catalog.names.get(id) ?? 'unknown', run: ++this.catalog.runs };
  }

  @Put(':id')
  @InvalidateCache({ keys: ['http:/api/products/{id}'] })
  rename(@Param('id') id: string, @Body() body: { name: string }) {
    this.catalog.names.set(id, body.name);
    return { id };
  }
}

@Module({
  imports: [CacheModule.forRoot({ isGlobal: true, namespace: 'default-key' })],
  controllers: [ProductsController],
  providers: [Catalog],
})
class AppModule {}

describe.each(HTTP_PLATFORMS)('the default key of a route on $name', ({ adapter }) => {
  let app: INestApplication;
  let catalog: Catalog;
  let cache: CacheService;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    app = await startHttpApp(AppModule, adapter, (app) => app.setGlobalPrefix('api'));
    catalog = app.get(Catalog);
    cache = app.get(CacheService);
  });
  afterEach(async () => {
    await cache.clear();
    catalog.names.clear();
    catalog.runs = 0;
  });
  afterAll(async () => {
    await app.close();
  });

  it('gives every spelling of one URL that reaches the handler one entry, removed by one invalidation', async () => {
    catalog.names.set('1', 'old');
    // Percent-encoded param, upper-case static part and trailing slash (the last two match on
    // Express, whose routing ignores case and a trailing slash by default; Fastify answers 404).
    const spellings = [
      '/api/products/1',
      '/api/products/%31',
      '/api/PRODUCTS/1',
      '/api/products/1/',
    ];
    const served: string[] = [];
    for (const url of spellings) {
      const res = await http().get(url);
      if (res.status === 404) continue;
      expect([url, res.status, res.body.name]).toEqual([url, 200, 'old']);
      expect([url, res.headers['x-cache']]).toEqual([url, served.length === 0 ? 'MISS' : 'HIT']);
      served.push(url);
    }
    expect(served.length).toBeGreaterThanOrEqual(2);
    expect(catalog.runs).toBe(1);

    await http().put('/api/products/1').send({ name: 'new' }).expect(200);
    for (const url of served) {
      const res = await http().get(url).expect(200);
      expect([url, res.body.name]).toEqual([url, 'new']);
    }
    expect(catalog.runs).toBe(2);
  });

  it('keeps values the router does not equate apart: /01 is another value than /1', async () => {
    catalog.names.set('1', 'one');
    await http().get('/api/products/1').expect(200);
    const zero = await http().get('/api/products/01').expect(200);
    expect(zero.headers['x-cache']).toBe('MISS');
    expect(zero.body).toMatchObject({ id: '01', name: 'unknown' });
  });
});

@Controller('versioned')
class VersionedController {
  @Get()
  @Version('1')
  @Cached()
  async one() {
    return { version: 1 };
  }

  @Get()
  @Version('2')
  @Cached()
  async two() {
    return { version: 2 };
  }
}

@Module({
  imports: [CacheModule.forRoot({ isGlobal: true, namespace: 'versioned-key' })],
  controllers: [VersionedController],
})
class VersionedModule {}

describe.each(HTTP_PLATFORMS)(
  'the default key of header-versioned routes on $name',
  ({ adapter }) => {
    let app: INestApplication;
    const http = () => request(app.getHttpServer());

    beforeAll(async () => {
      app = await startHttpApp(VersionedModule, adapter, (app) =>
        app.enableVersioning({ type: VersioningType.HEADER, header: 'x-api-version' }),
      );
    });
    afterAll(async () => {
      await app.close();
    });

    it('never answers one version with the entry of another', async () => {
      expect((await http().get('/versioned').set('x-api-version', '1')).body).toEqual({
        version: 1,
      });
      const two = await http().get('/versioned').set('x-api-version', '2');
      expect(two.body).toEqual({ version: 2 });
      expect(two.headers['x-cache']).toBe('MISS');
      expect((await http().get('/versioned').set('x-api-version', '1')).headers['x-cache']).toBe(
        'HIT',
      );
    });
  },
);
