import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { AppModule as CacheManagerApp } from './cache-manager-app/app.module.js';
import { Catalogue as CacheManagerCatalogue } from './cache-manager-app/catalogue.js';
import { PricesService as CacheManagerPrices } from './cache-manager-app/prices.service.js';
import { AppModule as TieredCacheApp } from './tiered-cache-app/app.module.js';
import { Catalogue as TieredCacheCatalogue } from './tiered-cache-app/catalogue.js';
import { PricesService as TieredCachePrices } from './tiered-cache-app/prices.service.js';

/**
 * The migration from @nestjs/cache-manager, proven: one small application written against
 * @nestjs/cache-manager (cache-manager-app/), and a copy whose only change is its imports, from
 * `nest-tiered-cache/compat` (tiered-cache-app/). The same tests, below, run on both.
 */
interface Variant {
  readonly AppModule: Type;
  readonly Catalogue: typeof CacheManagerCatalogue | typeof TieredCacheCatalogue;
  readonly PricesService: typeof CacheManagerPrices | typeof TieredCachePrices;
}

const VARIANTS: Array<[string, Variant]> = [
  [
    '@nestjs/cache-manager',
    {
      AppModule: CacheManagerApp,
      Catalogue: CacheManagerCatalogue,
      PricesService: CacheManagerPrices,
    },
  ],
  [
    'nest-tiered-cache/compat',
    {
      AppModule: TieredCacheApp,
      Catalogue: TieredCacheCatalogue,
      PricesService: TieredCachePrices,
    },
  ],
];

/** Every timer stays real; only `Date` is frozen, moved by hand (TTLs are read from it). */
const REAL_TIMERS = [
  'hrtime',
  'nextTick',
  'performance',
  'queueMicrotask',
  'requestAnimationFrame',
  'cancelAnimationFrame',
  'requestIdleCallback',
  'cancelIdleCallback',
  'setImmediate',
  'clearImmediate',
  'setInterval',
  'clearInterval',
  'setTimeout',
  'clearTimeout',
] as const;

describe.each(VARIANTS)('the cache-manager application on %s', (_name, variant) => {
  let app: INestApplication;
  let catalogue: InstanceType<Variant['Catalogue']>;
  let prices: InstanceType<Variant['PricesService']>;
  const http = () => request(app.getHttpServer());
  const advance = (ms: number) => jest.setSystemTime(Date.now() + ms);

  beforeAll(async () => {
    // Before the application exists, so that every clock it reads is the frozen one.
    jest.useFakeTimers({ doNotFake: [...REAL_TIMERS], now: new Date('2030-01-01T00:00:00Z') });
    const moduleRef = await Test.createTestingModule({ imports: [variant.AppModule] }).compile();
    app = moduleRef.createNestApplication();
    await app.init();
    catalogue = app.get(variant.Catalogue);
    prices = app.get(variant.PricesService);
  });
  afterAll(async () => {
    await app.close();
    jest.useRealTimers();
  });

  it('answers a GET from the cache the second time: X-Cache MISS, then HIT', async () => {
    const miss = await http().get('/products?page=1').expect(200);
    const hit = await http().get('/products?page=1').expect(200);
    expect(miss.headers['x-cache']).toBe('MISS');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body).toEqual(miss.body);
    expect(hit.body).toHaveLength(10);
    expect(catalogue.reads.list).toBe(1);
  });

  it('keys a route by its URL: another query is another entry', async () => {
    const page2 = await http().get('/products?page=2').expect(200);
    expect(page2.headers['x-cache']).toBe('MISS');
    expect(page2.body[0]).toEqual({ id: '11', name: 'Product 11' });
    expect(catalogue.reads.list).toBe(2);
  });

  it('does not cache other methods', async () => {
    for (let i = 0; i < 2; i++) {
      const renamed = await http()
        .post('/products/30/name')
        .send({ name: `Renamed ${i}` });
      expect(renamed.status).toBe(201);
      expect(renamed.headers['x-cache']).toBeUndefined();
    }
    expect(catalogue.reads.renames).toBe(2);
  });

  it('serves an entry for the module TTL (ms), then computes it again', async () => {
    expect((await http().get('/products/4')).headers['x-cache']).toBe('MISS');
    advance(4_999);
    expect((await http().get('/products/4')).headers['x-cache']).toBe('HIT');
    advance(2);
    expect((await http().get('/products/4')).headers['x-cache']).toBe('MISS');
  });

  it('a service deleting the URL key through CACHE_MANAGER invalidates the route', async () => {
    expect((await http().get('/products/1')).headers['x-cache']).toBe('MISS');
    expect((await http().get('/products/1')).headers['x-cache']).toBe('HIT');
    await http().post('/products/1/name').send({ name: 'Desk lamp' }).expect(201);
    const after = await http().get('/products/1').expect(200);
    expect(after.headers['x-cache']).toBe('MISS');
    expect(after.body).toEqual({ id: '1', name: 'Desk lamp' });
  });

  it('@CacheKey names the entry and @CacheTTL (ms) sets how long it lives', async () => {
    const miss = await http().get('/products/featured').expect(200);
    expect(miss.headers['x-cache']).toBe('MISS');
    expect((await http().get('/products/featured')).headers['x-cache']).toBe('HIT');
    advance(1_001);
    expect((await http().get('/products/featured')).headers['x-cache']).toBe('MISS');
    expect(catalogue.reads.featured).toBe(2);
  });

  it('a subclass overriding trackBy decides the key (one entry per campaign page)', async () => {
    const first = await http().get('/campaigns/spring?utm_source=newsletter').expect(200);
    const second = await http().get('/campaigns/spring?utm_source=ads').expect(200);
    expect(first.headers['x-cache']).toBe('MISS');
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.body).toEqual({ campaign: 'spring', products: [{ id: '3', name: 'Product 3' }] });
    expect(catalogue.reads.landing).toBe(1);
  });

  it('CACHE_MANAGER get/set/del: undefined on a miss, set resolves to the value, del to true', async () => {
    expect(await prices.rate('EUR')).toBeUndefined();
    expect(await prices.setRate('EUR', 1.08)).toBe(1.08);
    expect(await prices.rate('EUR')).toBe(1.08);
    expect(await prices.forget('rate:EUR')).toBe(true);
    expect(await prices.rate('EUR')).toBeUndefined();
  });

  it('CACHE_MANAGER mget/mdel/ttl: values in order, expiry in epoch ms', async () => {
    await prices.setRate('GBP', 0.86);
    await prices.setRate('JPY', 161);
    expect(await prices.rates(['GBP', 'CHF', 'JPY'])).toEqual([0.86, undefined, 161]);
    expect(await prices.expiry('GBP')).toBe(Date.now() + 5000);
    expect(await prices.expiry('CHF')).toBeUndefined();
    expect(await prices.dropRates(['GBP', 'JPY'])).toBe(true);
    expect(await prices.rates(['GBP', 'JPY'])).toEqual([undefined, undefined]);
  });

  it('CACHE_MANAGER wrap: concurrent callers share one computation, kept for its TTL (ms)', async () => {
    const before = prices.computations;
    expect(await Promise.all([prices.price('7'), prices.price('7'), prices.price('7')])).toEqual([
      700, 700, 700,
    ]);
    expect(await prices.price('7')).toBe(700);
    expect(prices.computations).toBe(before + 1);
    advance(60_001);
    expect(await prices.price('7')).toBe(700);
    expect(prices.computations).toBe(before + 2);
  });

  it('CACHE_MANAGER clear removes values and cached routes alike', async () => {
    await prices.setRate('USD', 1);
    await http().get('/products/5').expect(200);
    expect((await http().get('/products/5')).headers['x-cache']).toBe('HIT');
    expect(await prices.clearAll()).toBe(true);
    expect(await prices.rate('USD')).toBeUndefined();
    expect((await http().get('/products/5')).headers['x-cache']).toBe('MISS');
  });
});

describe('the two applications', () => {
  it('differ only in where they import the cache from', () => {
    const dir = (name: string) => path.join(import.meta.dirname, name);
    const files = readdirSync(dir('cache-manager-app')).sort();
    expect(readdirSync(dir('tiered-cache-app')).sort()).toEqual(files);
    const changes: string[] = [];
    for (const file of files) {
      const original = readFileSync(path.join(dir('cache-manager-app'), file), 'utf8').split('\n');
      const copy = readFileSync(path.join(dir('tiered-cache-app'), file), 'utf8').split('\n');
      expect(copy).toHaveLength(original.length);
      original.forEach((line, i) => {
        if (line === copy[i]) return;
        expect(line).toMatch(/^import \{ [\w, ]+ \} from '@nestjs\/cache-manager';$/);
        expect(copy[i]).toBe(line.replace('@nestjs/cache-manager', 'nest-tiered-cache/compat'));
        changes.push(file);
      });
    }
    expect(changes).toEqual([
      'app.module.ts',
      'campaigns.controller.ts',
      'prices.service.ts',
      'products.controller.ts',
    ]);
  });
});
