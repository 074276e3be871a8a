import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Controller, Get, Module, Param, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { CacheModule, CacheService, Cached } from 'nest-tiered-cache';
import { describeBackendContract } from 'nest-tiered-cache/testing';
import { MapByteStore, mapBackend } from './fixtures/map-byte-store.js';

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
    expect(run.stdout).toMatch(/# pass 19\n/);
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
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
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
