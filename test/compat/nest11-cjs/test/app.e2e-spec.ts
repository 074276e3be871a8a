import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { connect } from 'node:net';
import request from 'supertest';
import { App } from 'supertest/types';
import { AppModule } from './../src/app.module';
import { Catalogue } from './../src/catalogue';

/** Sends SHUTDOWN NOSAVE to the test's redis-server; resolves once it closed the connection. */
function shutdownRedis(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write('SHUTDOWN NOSAVE\r\n'));
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });
}

describe('nest-tiered-cache in a Nest 11 CommonJS app (Jest, ts-jest)', () => {
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

  it('loads the CommonJS build under Jest', () => {
    expect(require.resolve('nest-tiered-cache')).toMatch(
      /nest-tiered-cache[\\/]dist[\\/]cjs[\\/]index\.js$/,
    );
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

  it('reports health up, then up with the optional Redis down (terminus 11 has no degraded)', async () => {
    const up = await request(app.getHttpServer()).get('/health').expect(200);
    expect(up.body.status).toBe('ok');
    expect(up.body.details.cache).toMatchObject({ status: 'up', shared: { status: 'up' } });

    await shutdownRedis(process.env.REDIS_URL!);
    const down = await request(app.getHttpServer()).get('/health').expect(200);
    expect(down.body.status).toBe('ok');
    expect(down.body.details.cache).toMatchObject({
      status: 'up',
      shared: { backend: 'redis', status: 'down', required: false },
    });

    // The cache fails open: the route still answers, and L1 still serves.
    const miss = await request(app.getHttpServer()).get('/products/2').expect(200);
    expect(miss.headers['x-cache']).toBe('MISS');
    const hit = await request(app.getHttpServer()).get('/products/2').expect(200);
    expect(hit.headers['x-cache']).toBe('HIT');
  });
});
