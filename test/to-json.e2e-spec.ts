import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { types } from 'node:util';
import { CacheModule, CacheService, Cached, type CacheModuleOptions } from 'nest-tiered-cache';
import { RedisServerHarness } from '../libs/tiered-cache/test/redis-server.harness.js';

/**
 * Issue 11, point 2: a value with `toJSON` never comes back from a serializing tier exposing what
 * its `toJSON` hides, also when it holds a Date (which used to send it through V8's structured
 * clone as it was), through `CacheService` and `@Cached` provider methods.
 */

class Account {
  constructor(
    readonly id: number,
    readonly passwordHash: string,
    readonly createdAt: Date,
    readonly roles: Set<string>,
  ) {}
  toJSON() {
    return { id: this.id, createdAt: this.createdAt, roles: this.roles };
  }
}

const account = (id: number) => new Account(id, 'secret-hash', new Date(1_000), new Set(['admin']));

@Injectable()
class Accounts {
  calls = 0;
  @Cached({ key: 'account:{id}' })
  async find(id: number) {
    this.calls++;
    return account(id);
  }
}

let redis: RedisServerHarness;
beforeAll(async () => {
  redis = await RedisServerHarness.start();
});
afterAll(async () => {
  await redis.stop();
});

const tiers: Array<{ tier: string; options: () => CacheModuleOptions }> = [
  { tier: 'memory', options: () => ({ local: { backend: 'memory' } }) },
  {
    tier: 'redis',
    options: () => ({ shared: { backend: 'redis', url: redis.url }, bus: false }),
  },
];

/** The stored form: toJSON's fields only, the Date and the Set kept as themselves. */
function expectToJsonForm(value: unknown): void {
  const out = value as { id: number; createdAt: Date; roles: Set<string> };
  expect(Object.keys(out).sort()).toEqual(['createdAt', 'id', 'roles']);
  expect(types.isDate(out.createdAt)).toBe(true);
  expect(out.createdAt.getTime()).toBe(1_000);
  expect(types.isSet(out.roles)).toBe(true);
  expect([...out.roles]).toEqual(['admin']);
  expect('passwordHash' in out).toBe(false);
}

describe.each(tiers)('a value with toJSON on a $tier tier', ({ options }) => {
  let app: INestApplicationContext;
  let cache: CacheService;

  beforeAll(async () => {
    @Module({
      imports: [CacheModule.forRoot({ namespace: 'tojson', ...options() })],
      providers: [Accounts],
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = await moduleRef.createNestApplication({ logger: false }).init();
    cache = app.get(CacheService);
    await cache.clear();
  });
  afterAll(async () => {
    await app.close();
  });

  it('comes back from CacheService as what toJSON returns', async () => {
    await cache.set('account', account(1));
    expectToJsonForm(await cache.get('account'));
    expect(await cache.getOrSet('other', () => account(2))).toBeInstanceOf(Account); // computed
    expectToJsonForm(await cache.getOrSet('other', () => account(3)));
  });

  it('comes back from a @Cached provider method hit as what toJSON returns', async () => {
    const accounts = app.get(Accounts);
    const miss = await accounts.find(5);
    expect(miss).toBeInstanceOf(Account); // the method's own value, on a miss
    expectToJsonForm(await accounts.find(5));
    expect(accounts.calls).toBe(1);
  });
});
