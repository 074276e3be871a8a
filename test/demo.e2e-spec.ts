import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AppModule } from '../apps/demo/src/app.module.js';
import { ProductsRepository } from '../apps/demo/src/products/products.repository.js';

describe('demo app on the embedded memory default', () => {
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
  });
  afterAll(async () => {
    await app.close();
  });

  it('serves a product from the cache after the first read, and fresh data after an update', async () => {
    const repository = app.get(ProductsRepository);
    const first = await fetch(`${base}/products/7`);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(await first.json()).toMatchObject({ id: 7, name: 'Product 7', priceCents: 799 });
    const queriesAfterMiss = repository.queries;
    for (let i = 0; i < 5; i++) {
      const hit = await fetch(`${base}/products/7`);
      expect(hit.headers.get('x-cache')).toBe('HIT');
      expect(await hit.json()).toMatchObject({ id: 7, name: 'Product 7' });
    }
    expect(repository.queries).toBe(queriesAfterMiss);

    const put = await fetch(`${base}/products/7`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Renamed' }),
    });
    expect(await put.json()).toMatchObject({ id: 7, name: 'Renamed', priceCents: 799 });
    const fresh = await fetch(`${base}/products/7`);
    expect(fresh.headers.get('x-cache')).toBe('MISS');
    expect(await fresh.json()).toMatchObject({ name: 'Renamed', priceCents: 799 });

    expect((await fetch(`${base}/products/999`)).status).toBe(404);
    const stats = (await (await fetch(`${base}/cache/stats`)).json()) as { hits: number; databaseQueries: number; tiers: { local: { backend: string } } };
    expect(stats.hits).toBe(5);
    expect(stats.tiers.local.backend).toBe('memory');
    expect(stats.databaseQueries).toBe(repository.queries);
  });
});
