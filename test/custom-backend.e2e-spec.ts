import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Controller, Get, Module, Param, type INestApplication } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import request from 'supertest';
import { CacheModule, CacheService, Cached } from 'nest-tiered-cache';
import { describeBackendContract } from 'nest-tiered-cache/testing';
import { MapByteStore, mapBackend } from './fixtures/map-byte-store.js';
import { MapEntryBackend } from './fixtures/map-entry-backend.js';
import { startHttpApp } from './support/http-app.js';

const EXAMPLE = 'test/fixtures/map-byte-store.ts';

// The README's worked example, through the very suite third-party backends run, as either tier.
describeBackendContract(
  { name: 'README example (local)', tiers: () => ({ local: { backend: mapBackend() } }) },
  { describe, it, beforeEach, afterEach },
);
describeBackendContract(
  {
    name: 'README example (shared, under memory)',
    tiers: () => ({ local: { backend: 'memory' }, shared: { backend: mapBackend() } }),
  },
  { describe, it, beforeEach, afterEach },
);

// A backend with API.md's members only (no deleteByTags): it keeps no entry written with tags, and
// under a tier that has tags those entries live there alone.
describeBackendContract(
  {
    name: 'a CacheBackend without deleteByTags',
    values: 'same',
    tags: false,
    tiers: () => ({ local: { backend: new MapEntryBackend() } }),
  },
  { describe, it, beforeEach, afterEach },
);
describeBackendContract(
  {
    name: 'a CacheBackend without deleteByTags, over one with tags',
    values: 'same', // what it keeps, it keeps as given
    tiers: () => ({ local: { backend: new MapEntryBackend() }, shared: { backend: mapBackend() } }),
  },
  { describe, it, beforeEach, afterEach },
);

describeBackendContract(
  {
    name: 'a CacheBackend without deleteByTags, under one with tags',
    tiers: () => ({ local: { backend: 'memory' }, shared: { backend: new MapEntryBackend() } }),
  },
  { describe, it, beforeEach, afterEach },
);

describe('README "Writing a backend"', () => {
  it('quotes the example file exactly', () => {
    const readme = readFileSync('README.md', 'utf8');
    const marker = `<!-- example: ${EXAMPLE} -->`;
    const at = readme.indexOf(marker);
    expect(at).toBeGreaterThan(-1);
    const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(at))?.[1];
    expect(block).toBe(readFileSync(EXAMPLE, 'utf8'));
  });
});

describe('nest-tiered-cache/testing as published', () => {
  it('runs under node:test, imported by package name from the built library', () => {
    if (!existsSync('libs/tiered-cache/dist/testing/index.js'))
      throw new Error(
        'libs/tiered-cache/dist is missing: run `npm run build:lib` first (npm test does)',
      );
    // TAP, the default reporter of Node 20 but not of Node 24 (spec).
    const args = ['--test', '--test-reporter=tap', 'test/fixtures/node-test-contract.mjs'];
    const run = spawnSync(process.execPath, args, {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.stdout).toMatch(/# pass 20\n/);
    expect(run.stdout).toMatch(/# fail 0\n/);
    expect(run.status).toBe(0);
  });
});

@Controller('items')
class ItemsController {
  calls = 0;

  @Get(':id')
  @Cached({ key: 'item:{id}', ttl: '1m' })
  async find(@Param('id') id: string) {
    this.calls++;
    return { id, calls: this.calls };
  }
}

describe('the README example in a Nest application', () => {
  const store = new MapByteStore();
  let app: INestApplication;

  @Module({
    imports: [
      CacheModule.forRoot({ namespace: 'example', shared: { backend: mapBackend(store) } }),
    ],
    controllers: [ItemsController],
  })
  class AppModule {}

  beforeAll(async () => {
    app = await startHttpApp(AppModule, () => new ExpressAdapter());
  });
  afterAll(async () => {
    await app?.close();
  });

  it('caches a route in the custom backend and reports it by name', async () => {
    const miss = await request(app.getHttpServer()).get('/items/7').expect(200);
    expect(miss.headers['x-cache']).toBe('MISS');
    const hit = await request(app.getHttpServer()).get('/items/7').expect(200);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body).toEqual({ id: '7', calls: 1 });
    expect(store.size()).toBe(1);
    expect(app.get(CacheService).stats().tiers.shared).toMatchObject({ backend: 'map', hits: 1 });
  });
});

@Controller('tagged')
class TaggedController {
  calls = 0;

  @Get(':id')
  @Cached({ key: 'tagged:{id}', ttl: '1m', tags: ['items'] })
  async find(@Param('id') id: string) {
    this.calls++;
    return { id, calls: this.calls };
  }
}

describe('a backend without deleteByTags in a Nest application', () => {
  const local = new MapEntryBackend();
  const store = new MapByteStore();
  const warnings: string[] = [];
  let app: INestApplication;

  @Module({
    imports: [
      CacheModule.forRoot({
        namespace: 'untagged',
        logger: {
          log: () => undefined,
          error: () => undefined,
          warn: (m) => warnings.push(String(m)),
        },
        local: { backend: local },
        shared: { backend: mapBackend(store) },
      }),
    ],
    controllers: [TaggedController],
  })
  class AppModule {}

  beforeAll(async () => {
    app = await startHttpApp(AppModule, () => new ExpressAdapter());
  });
  afterAll(async () => {
    await app?.close();
  });

  it('boots, and says at bootstrap that the tier keeps no tagged entry', () => {
    expect(warnings).toEqual([
      'local tier (map-entries): its backend has no deleteByTags, so entries written with tags are not kept in this tier',
    ]);
  });

  it('serves a tagged route from the tier that has tags, and a tag delete reaches it', async () => {
    const server = app.getHttpServer();
    expect((await request(server).get('/tagged/1').expect(200)).headers['x-cache']).toBe('MISS');
    const hit = await request(server).get('/tagged/1').expect(200);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body).toEqual({ id: '1', calls: 1 });
    expect(local.size()).toBe(0); // never in the tier without tags, not even by a backfill
    expect(store.size()).toBe(1);
    expect(await app.get(CacheService).deleteByTag('items')).toBe(1);
    const after = await request(server).get('/tagged/1').expect(200);
    expect(after.headers['x-cache']).toBe('MISS');
    expect(after.body).toEqual({ id: '1', calls: 2 });
  });

  it('keeps untagged entries in it as usual', async () => {
    const cache = app.get(CacheService);
    await cache.set('plain', { v: 1 });
    expect(local.size()).toBe(1);
    await cache.set('plain', { v: 2 }, { tags: ['t'] });
    expect(local.size()).toBe(0); // the older value is gone from it
    expect(await cache.get('plain')).toEqual({ v: 2 });
  });
});
