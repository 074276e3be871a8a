import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CacheService, getCacheToken } from 'nest-tiered-cache';
import { Database } from '../apps/demo/src/database/database.js';
import { PRODUCT_COUNT, productIdsByPopularity } from '../apps/demo/src/database/seed.js';
import type { Product, ProductPage } from '../apps/demo/src/products/products.repository.js';
import type { UserOrders } from '../apps/demo/src/orders/orders.service.js';

interface Reply<T = unknown> {
  status: number;
  cache: string | null;
  type: string | null;
  body: T;
}

interface StatsBody {
  hits: number;
  misses: number;
  hitRate: number;
  tiers: { local?: { backend: string }; shared?: unknown };
  database: { queries: number; requestsServed: number; queriesAvoided: number };
}

/** Products by popularity rank (1 = most popular), from the same deterministic seed as the app. */
const byRank = productIdsByPopularity();
const rank = (r: number) => byRank[r - 1]!;

describe('demo app (AppModule in-process: PGlite in memory, memory cache tier)', () => {
  let app: INestApplication;
  let base: string;
  let db: Database;

  async function call<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<Reply<T>> {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const type = res.headers.get('content-type');
    return {
      status: res.status,
      cache: res.headers.get('x-cache'),
      type,
      body: (type?.includes('json') ? JSON.parse(text) : text) as T,
    };
  }
  const get = <T = unknown>(path: string) => call<T>('GET', path);

  /** Runs `fn` and returns how many database queries it caused. */
  async function queriesOf(fn: () => Promise<unknown>): Promise<number> {
    const before = db.queries;
    await fn();
    return db.queries - before;
  }

  beforeAll(async () => {
    // The embedded defaults, whatever the environment of the test run says.
    for (const name of ['REDIS_URL', 'DATABASE_URL', 'CACHE_ENABLED']) delete process.env[name];
    const { AppModule } = await import('../apps/demo/src/app.module.js');
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
    db = app.get(Database);
  }, 120_000);

  afterAll(async () => {
    await app?.close();
  });

  it('seeded the catalogue and runs on PGlite with the memory tier only', async () => {
    expect(db.kind).toBe('pglite');
    const stats = (await get<StatsBody>('/cache/stats')).body;
    expect(stats.tiers.local?.backend).toBe('memory');
    expect(stats.tiers.shared).toBeUndefined();
    // Only the warm-up's single query so far; seeding is not counted.
    expect(stats.database).toEqual({ queries: 1, requestsServed: 0, queriesAvoided: 0 });
  });

  it('warm-up made the most popular products HITs on their very first request', async () => {
    for (const r of [1, 2, 50, 100]) {
      let reply: Reply<Product> | undefined;
      expect(
        await queriesOf(async () => (reply = await get<Product>(`/products/${rank(r)}`))),
      ).toBe(0);
      expect(reply!.status).toBe(200);
      expect(reply!.cache).toBe('HIT');
      expect(reply!.body).toMatchObject({ id: rank(r) });
    }
    // The 101st is not warmed.
    expect((await get(`/products/${rank(101)}`)).cache).toBe('MISS');
  });

  it('serves a product with one query on a MISS, then from the cache (HIT) with none', async () => {
    const id = rank(500);
    let first: Reply<Product> | undefined;
    expect(await queriesOf(async () => (first = await get<Product>(`/products/${id}`)))).toBe(1);
    expect(first!.status).toBe(200);
    expect(first!.cache).toBe('MISS');
    expect(first!.body).toEqual({
      id,
      name: expect.any(String),
      category: expect.any(String),
      priceCents: expect.any(Number),
      popularity: expect.any(Number),
    });
    const hits = await queriesOf(async () => {
      for (let i = 0; i < 5; i++) {
        const hit = await get<Product>(`/products/${id}`);
        expect(hit.cache).toBe('HIT');
        expect(hit.body).toEqual(first!.body);
      }
    });
    expect(hits).toBe(0);
  });

  it('does not cache a 404, and rejects a malformed id', async () => {
    const missing = PRODUCT_COUNT + 1;
    for (let i = 0; i < 2; i++) {
      let reply: Reply | undefined;
      expect(await queriesOf(async () => (reply = await get(`/products/${missing}`)))).toBe(1);
      expect(reply!.status).toBe(404);
    }
    expect((await get('/products/abc')).status).toBe(400);
  });

  it('an update invalidates the product: the next read is a MISS with the fresh data', async () => {
    const id = rank(3); // warmed: cached from the start
    expect((await get(`/products/${id}`)).cache).toBe('HIT');
    const put = await call<Product>('PUT', `/products/${id}`, {
      name: 'Renamed in a test',
      priceCents: 4242,
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ id, name: 'Renamed in a test', priceCents: 4242 });
    const fresh = await get<Product>(`/products/${id}`);
    expect(fresh.cache).toBe('MISS');
    expect(fresh.body).toMatchObject({ id, name: 'Renamed in a test', priceCents: 4242 });
    expect((await get<Product>(`/products/${id}`)).cache).toBe('HIT');

    expect((await call('PUT', `/products/${PRODUCT_COUNT + 1}`, { name: 'x' })).status).toBe(404);
    expect((await call('PUT', `/products/${id}`, { priceCents: -1 })).status).toBe(400);
    expect((await call('PUT', `/products/${id}`, {})).status).toBe(400);
  });

  it('an update invalidates every spelling of the product id (/products/01, /001): {id:int}', async () => {
    const id = rank(30);
    for (const alias of [`${id}`, `0${id}`, `00${id}`]) await get(`/products/${alias}`);
    expect((await get(`/products/00${id}`)).cache).toBe('HIT');
    expect((await call('PUT', `/products/${id}`, { name: 'Alias renamed' })).status).toBe(200);
    for (const alias of [`0${id}`, `00${id}`, `${id}`]) {
      const reply = await get<Product>(`/products/${alias}`);
      expect({ alias, name: reply.body.name }).toEqual({ alias, name: 'Alias renamed' });
    }
    expect((await get('/products/1.5')).status).toBe(400);
  });

  it("caches a category page, and an update invalidates its category's pages and the all-categories list, not other categories or products", async () => {
    const path = '/products?category=kitchen&page=1';
    const first = await get<ProductPage>(path);
    expect(first.status).toBe(200);
    expect(first.cache).toBe('MISS');
    expect(first.body).toMatchObject({ category: 'kitchen', page: 1, pageSize: 20 });
    expect(first.body.items).toHaveLength(20);
    expect(first.body.items.every((p) => p.category === 'kitchen')).toBe(true);
    const popularity = first.body.items.map((p) => p.popularity);
    expect(popularity).toEqual([...popularity].sort((a, b) => b - a));
    expect((await get(path)).cache).toBe('HIT');
    expect((await get('/products?category=kitchen&page=2')).cache).toBe('MISS');

    const other = rank(10);
    expect((await get(`/products/${other}`)).cache).toBe('HIT');
    const otherCategory = '/products?category=garden&page=1';
    const allCategories = '/products?page=1';
    await get(otherCategory);
    await get(allCategories);
    expect((await get(otherCategory)).cache).toBe('HIT');
    expect((await get(allCategories)).cache).toBe('HIT');
    const changed = first.body.items[0]!;
    expect((await call('PUT', `/products/${changed.id}`, { priceCents: 1999 })).status).toBe(200);
    const after = await get<ProductPage>(path);
    expect(after.cache).toBe('MISS');
    expect(after.body.items.find((p) => p.id === changed.id)?.priceCents).toBe(1999);
    // Pages are invalidated by category tag; other categories and other products stay cached.
    expect((await get(allCategories)).cache).toBe('MISS');
    expect((await get(otherCategory)).cache).toBe('HIT');
    expect((await get(`/products/${other}`)).cache).toBe('HIT');

    expect((await get('/products?category=nope')).status).toBe(400);
    expect((await get('/products?page=0')).status).toBe(400);
  });

  it('caches users by id', async () => {
    const first = await get<{ id: number; name: string; email: string }>('/users/3');
    expect(first.status).toBe(200);
    expect(first.cache).toBe('MISS');
    expect(first.body).toMatchObject({ id: 3, email: expect.stringContaining('@example.com') });
    expect((await get('/users/3')).cache).toBe('HIT');
    expect((await get('/users/100000')).status).toBe(404);
  });

  it("caches a user's orders in the service, and POST /orders invalidates that user's list only", async () => {
    let orders: Reply<UserOrders> | undefined;
    expect(await queriesOf(async () => (orders = await get<UserOrders>('/users/5/orders')))).toBe(
      1,
    );
    expect(orders!.status).toBe(200);
    expect(orders!.body.userId).toBe(5);
    expect(orders!.cache).toBeNull(); // a service-level cache: the route itself sets no X-Cache
    expect(
      await queriesOf(async () =>
        expect((await get('/users/5/orders')).body).toEqual(orders!.body),
      ),
    ).toBe(0);
    expect(await queriesOf(() => get('/users/6/orders'))).toBe(1);

    const created = await call<{ id: number; userId: number; productId: number; quantity: number }>(
      'POST',
      '/orders',
      {
        userId: 5,
        productId: rank(1),
        quantity: 2,
      },
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: expect.any(Number),
      userId: 5,
      productId: rank(1),
      quantity: 2,
    });

    let fresh: Reply<UserOrders> | undefined;
    expect(await queriesOf(async () => (fresh = await get<UserOrders>('/users/5/orders')))).toBe(1);
    expect(fresh!.body.orders[0]).toMatchObject({
      id: created.body.id,
      productId: rank(1),
      quantity: 2,
    });
    expect(fresh!.body.orders.length).toBe(Math.min(50, orders!.body.orders.length + 1));
    // User 6's list was not touched.
    expect(await queriesOf(() => get('/users/6/orders'))).toBe(0);

    expect(
      (await call('POST', '/orders', { userId: 100000, productId: 1, quantity: 1 })).status,
    ).toBe(404);
    expect((await call('POST', '/orders', { userId: 5, productId: 1, quantity: 0 })).status).toBe(
      400,
    );
    expect((await get('/users/100000/orders')).status).toBe(404);
  });

  it('serves the store settings through the named "config" cache', async () => {
    const configCache = app.get<CacheService>(getCacheToken('config'));
    const root = app.get(CacheService);
    let reply: Reply | undefined;
    expect(await queriesOf(async () => (reply = await get('/config')))).toBe(1);
    expect(reply!.status).toBe(200);
    expect(reply!.body).toEqual({ currency: 'EUR', taxRate: 0.2, featuredCategory: 'kitchen' });
    expect(await queriesOf(() => get('/config'))).toBe(0);
    expect(await configCache.has('store')).toBe(true);
    expect(await root.has('store')).toBe(false);
    expect(`${configCache.namespace}:store`).toBe('demo:v1:config:store');
  });

  it('/cache/stats counts hits, misses, queries and requests consistently with the traffic', async () => {
    const before = (await get<StatsBody>('/cache/stats')).body;
    expect(before.database.queries).toBe(db.queries);
    const cold = rank(700);
    await get(`/products/${cold}`); // miss, 1 query
    await get(`/products/${cold}`); // hit
    await get(`/products/${cold}`); // hit
    await get(`/products/${rank(20)}`); // hit (warmed)
    await get(`/products/${PRODUCT_COUNT + 1}`); // miss, 1 query, 404
    await get('/products/abc'); // 400 before the database: not counted as served
    const after = (await get<StatsBody>('/cache/stats')).body;

    expect(after.hits - before.hits).toBe(3);
    expect(after.misses - before.misses).toBe(2); // /products/abc is no integer: {id:int} bypasses the cache
    expect(after.hitRate).toBeCloseTo(after.hits / (after.hits + after.misses), 10);
    expect(after.database.queries - before.database.queries).toBe(2);
    expect(after.database.requestsServed - before.database.requestsServed).toBe(5); // /cache/stats itself is not counted
    expect(after.database.queries).toBe(db.queries);
    expect(after.database.queriesAvoided).toBe(
      Math.max(0, after.database.requestsServed - after.database.queries),
    );
    expect(after.database.queriesAvoided).toBeGreaterThan(0);
  });

  it('/health is 200 with status ok', async () => {
    const health = await get<{ status: string; info: Record<string, { status: string }> }>(
      '/health',
    );
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('ok');
    expect(health.body.info.cache?.status).toBe('up');
  });

  it('/metrics exposes the cache metrics in the Prometheus text format', async () => {
    const metrics = await get<string>('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.type).toContain('text/plain');
    expect(metrics.body).toMatch(/^nest_tiered_cache_\w+/m);
  });
});

describe('demoCacheOptions', () => {
  it('builds the cache options from an environment', async () => {
    const { demoCacheOptions } = await import('../apps/demo/src/app.module.js');
    const plain = demoCacheOptions({});
    expect(plain).toMatchObject({
      namespace: 'demo:v1',
      local: { backend: 'memory', maxEntries: 10_000, ttl: '30s' },
    });
    expect(plain.shared).toBeUndefined();
    expect(plain.enabled).toBeUndefined();
    expect(demoCacheOptions({ REDIS_URL: 'redis://127.0.0.1:6390' }).shared).toEqual({
      backend: 'redis',
      url: 'redis://127.0.0.1:6390',
      required: false,
    });
    expect(demoCacheOptions({ CACHE_ENABLED: 'false' }).enabled).toBe(false);
    expect(demoCacheOptions({ CACHE_ENABLED: 'true' }).enabled).toBeUndefined();
  });
});
