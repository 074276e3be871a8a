import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AppModule } from '../src/app.module.js';
import { Catalogue } from '../src/catalogue.js';

/** Sends SHUTDOWN NOSAVE to the test's redis-server; resolves once it closed the connection. */
function shutdownRedis(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write('SHUTDOWN NOSAVE\r\n'));
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });
}

describe('nest-tiered-cache in a Nest 11 ESM app (node:test, the lowest peer versions)', () => {
  let app: INestApplication;
  let base: string;
  const get = (path: string) => fetch(`${base}${path}`);

  before(async () => {
    // abortOnError: false, so that a failing bootstrap rejects (and is reported) instead of exiting.
    app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
  });

  after(async () => {
    await app.close();
  });

  it('resolves import and require to the same ES module (one copy of classes and tokens)', async () => {
    const viaImport = await import('nest-tiered-cache');
    const viaRequire = createRequire(import.meta.url)('nest-tiered-cache');
    assert.equal(viaRequire.CacheModule, viaImport.CacheModule);
    assert.equal(viaRequire.getCacheToken, viaImport.getCacheToken);
    assert.match(import.meta.resolve('nest-tiered-cache'), /nest-tiered-cache\/dist\/index\.js$/);
  });

  it('answers a cached route with MISS, then HIT without calling the handler', async () => {
    const miss = await get('/products/1');
    assert.equal(miss.headers.get('x-cache'), 'MISS');
    const hit = await get('/products/1');
    assert.equal(hit.headers.get('x-cache'), 'HIT');
    assert.deepEqual(await hit.json(), { id: '1', name: 'Lamp' });
    assert.equal(app.get(Catalogue).reads.get('1'), 1);
  });

  it('invalidates the entry when @InvalidateCache runs', async () => {
    const renamed = await fetch(`${base}/products/1/name`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Desk lamp' }),
    });
    assert.equal(renamed.status, 201);
    const after = await get('/products/1');
    assert.equal(after.headers.get('x-cache'), 'MISS');
    assert.deepEqual(await after.json(), { id: '1', name: 'Desk lamp' });
  });

  it('caches a provider method', async () => {
    const catalogue = app.get(Catalogue);
    assert.equal(await catalogue.price('3'), 30);
    assert.equal(await catalogue.price('3'), 30);
    assert.equal(catalogue.priceComputations, 1);
  });

  it('reports health up, then degraded (HTTP 200) with the optional Redis down', async () => {
    const up = await get('/health');
    assert.equal(up.status, 200);
    const upBody = await up.json();
    assert.equal(upBody.details.cache.status, 'up');
    assert.equal(upBody.details.cache.shared.status, 'up');

    await shutdownRedis(process.env.REDIS_URL!);
    const down = await get('/health');
    assert.equal(down.status, 200);
    const downBody = await down.json();
    assert.equal(downBody.details.cache.status, 'degraded');
    assert.equal(downBody.details.cache.shared.status, 'down');
    assert.equal(downBody.details.cache.shared.required, false);

    // The cache fails open: the route still answers, and L1 still serves.
    assert.equal((await get('/products/2')).headers.get('x-cache'), 'MISS');
    assert.equal((await get('/products/2')).headers.get('x-cache'), 'HIT');
  });
});
