import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import request from 'supertest';
import { App } from 'supertest/types.js';
import { AppModule } from './../src/app.module.js';
import { Catalogue } from './../src/catalogue.js';
import { AppModule as QuickStartModule } from './../src/quick-start.js';

/** Sends SHUTDOWN NOSAVE to the test's redis-server; resolves once it closed the connection. */
function shutdownRedis(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write('SHUTDOWN NOSAVE\r\n'));
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });
}

describe('the quick start of the package README (src/quick-start.ts)', () => {
  it('answers MISS, then HIT, then MISS with the new name after the PUT', async () => {
    const moduleFixture = await Test.createTestingModule({ imports: [QuickStartModule] }).compile();
    const app = moduleFixture.createNestApplication();
    await app.init();
    try {
      const first = await request(app.getHttpServer()).get('/products/1').expect(200);
      expect(first.headers['x-cache']).toBe('MISS');
      expect(first.text).toBe('{"id":"1","name":"Lamp"}');
      const second = await request(app.getHttpServer()).get('/products/1').expect(200);
      expect(second.headers['x-cache']).toBe('HIT');
      expect(second.text).toBe('{"id":"1","name":"Lamp"}');
      const redis = new Redis(process.env.REDIS_URL!);
      expect(await redis.exists('shop:v1:product:1')).toBe(1); // the readable key the README names
      redis.disconnect();
      await request(app.getHttpServer())
        .put('/products/1')
        .send({ name: 'Desk lamp' })
        .expect(200, '{"id":"1","name":"Desk lamp"}');
      const third = await request(app.getHttpServer()).get('/products/1').expect(200);
      expect(third.headers['x-cache']).toBe('MISS');
      expect(third.text).toBe('{"id":"1","name":"Desk lamp"}');
    } finally {
      await app.close();
    }
  });
});

describe('nest-tiered-cache in a Nest 12 ESM app on Express (Vitest)', () => {
  let app: INestApplication<App>;
  let catalogue: Catalogue;

  beforeAll(async () => {
    const moduleFixture = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleFixture.createNestApplication();
    await app.init();
    catalogue = app.get(Catalogue);
  });

  afterAll(async () => {
    await app.close();
  });

  it('resolves import and require to one copy of the library', async () => {
    const viaImport = await import('nest-tiered-cache');
    const viaRequire = createRequire(import.meta.url)('nest-tiered-cache');
    expect(viaRequire.CacheModule).toBe(viaImport.CacheModule);
    expect(viaRequire.getCacheToken).toBe(viaImport.getCacheToken);
  });

  it('answers a cached route with MISS, then HIT without calling the handler', async () => {
    const miss = await request(app.getHttpServer()).get('/products/1').expect(200);
    expect(miss.headers['x-cache']).toBe('MISS');
    const hit = await request(app.getHttpServer()).get('/products/1').expect(200);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body).toEqual({ id: '1', name: 'Lamp' });
    expect(catalogue.reads.get('1')).toBe(1);
  });

  it('invalidates the entry when @InvalidateCache runs', async () => {
    await request(app.getHttpServer())
      .post('/products/1/name')
      .send({ name: 'Desk lamp' })
      .expect(201);
    const after = await request(app.getHttpServer()).get('/products/1').expect(200);
    expect(after.headers['x-cache']).toBe('MISS');
    expect(after.body).toEqual({ id: '1', name: 'Desk lamp' });
  });

  it('caches a provider method', async () => {
    expect(await catalogue.price('3')).toBe(30);
    expect(await catalogue.price('3')).toBe(30);
    expect(catalogue.priceComputations).toBe(1);
  });

  it('reports health up, then degraded (HTTP 200) with the optional Redis down', async () => {
    const up = await request(app.getHttpServer()).get('/health').expect(200);
    expect(up.body.details.cache).toMatchObject({ status: 'up', shared: { status: 'up' } });

    await shutdownRedis(process.env.REDIS_URL!);
    const down = await request(app.getHttpServer()).get('/health').expect(200);
    expect(down.body.details.cache).toMatchObject({
      status: 'degraded',
      shared: { backend: 'redis', status: 'down', required: false },
    });

    // The cache fails open: the route still answers, and L1 still serves.
    const miss = await request(app.getHttpServer()).get('/products/2').expect(200);
    expect(miss.headers['x-cache']).toBe('MISS');
    const hit = await request(app.getHttpServer()).get('/products/2').expect(200);
    expect(hit.headers['x-cache']).toBe('HIT');
  });
});
