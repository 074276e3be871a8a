import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Inject, Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CacheService } from 'nest-tiered-cache';
import {
  CACHE_MANAGER,
  Cache,
  CacheModule,
  NO_EXPIRY_MS,
  type CacheModuleOptions,
  type CacheOptionsFactory,
} from 'nest-tiered-cache/compat';
import { RedisServerHarness } from '../../libs/tiered-cache/test/redis-server.harness.js';
import { RecordingLogger } from '../../libs/tiered-cache/test/test-cache.js';
import { waitFor } from '../../libs/tiered-cache/test/wait-for.js';

/** What `nest-tiered-cache/compat` adds to, or does differently from, @nestjs/cache-manager. */

@Injectable()
class Settings {
  readonly ttl = 2000;
}

@Module({ providers: [Settings], exports: [Settings] })
class SettingsModule {}

@Injectable()
class OptionsFromClass implements CacheOptionsFactory {
  createCacheOptions(): CacheModuleOptions {
    return { ttl: 3000, namespace: 'from-class' };
  }
}

@Injectable()
class Consumer {
  constructor(
    @Inject(CACHE_MANAGER) readonly manager: Cache,
    readonly byType: Cache,
    readonly service: CacheService,
  ) {}
}

const boot = async (cacheModule: ReturnType<typeof CacheModule.register>) => {
  const moduleRef = await Test.createTestingModule({
    imports: [cacheModule],
    providers: [Consumer],
  }).compile();
  return moduleRef.init();
};

describe('nest-tiered-cache/compat: the module', () => {
  let app: INestApplicationContext | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('provides the manager under CACHE_MANAGER and Cache, on the CacheService of the module', async () => {
    app = await boot(CacheModule.register({ ttl: 5000, namespace: 'shop' }));
    const { manager, byType, service } = app.get(Consumer);
    expect(byType).toBe(manager);
    await manager.set('rate:EUR', 1.08);
    expect(await service.get('rate:EUR')).toBe(1.08);
    expect(await service.ttl('rate:EUR')).toBeCloseTo(5, 0);
    expect(manager.cacheId()).toBe('shop');
  });

  it.each<[string, () => ReturnType<typeof CacheModule.register>, number, string]>([
    [
      'registerAsync with useFactory and inject',
      () =>
        CacheModule.registerAsync({
          imports: [SettingsModule],
          inject: [Settings],
          useFactory: (settings: Settings) => ({ ttl: settings.ttl, namespace: 'from-factory' }),
        }),
      2,
      'from-factory',
    ],
    [
      'registerAsync with useClass',
      () => CacheModule.registerAsync({ useClass: OptionsFromClass }),
      3,
      'from-class',
    ],
  ])('%s', async (_case, register, seconds, namespace) => {
    app = await boot(register());
    const { manager, service } = app.get(Consumer);
    await manager.set('k', 1);
    expect(await service.ttl('k')).toBeCloseTo(seconds, 0);
    expect(service.namespace).toBe(namespace);
  });

  it('no ttl, or 0, means no expiry (kept a year, or until evicted)', async () => {
    app = await boot(CacheModule.register());
    const { manager } = app.get(Consumer);
    await manager.set('forever', 1);
    await manager.set('also-forever', 1, 0);
    const now = Date.now();
    for (const key of ['forever', 'also-forever'])
      expect((await manager.ttl(key))! - now).toBeGreaterThanOrEqual(NO_EXPIRY_MS - 1000);
  });

  it.each<[string, CacheModuleOptions, RegExp]>([
    [
      'Keyv stores',
      { stores: [] } as never,
      /"stores": Keyv stores are not used.*shared: \{ backend: 'redis', url \}/,
    ],
    [
      'refreshThreshold',
      { refreshThreshold: 1000 } as never,
      /"refreshThreshold": not supported.*grace and timeout/,
    ],
    [
      'a TTL in seconds as a string',
      { ttl: '5s' as never },
      /"ttl": "5s" must be a number of milliseconds >= 0/,
    ],
    ['a negative TTL', { ttl: -1 }, /"ttl": -1 must be a number of milliseconds/],
  ])('refuses %s where the module is declared, saying what to do', (_case, options, message) => {
    expect(() => CacheModule.register(options)).toThrow(message);
  });

  it('refuses them at bootstrap when they come from registerAsync', async () => {
    const failure = boot(
      CacheModule.registerAsync({ useFactory: () => ({ stores: [] }) as never }),
    );
    await expect(failure).rejects.toThrow(/"stores": Keyv stores are not used/);
  });
});

describe('nest-tiered-cache/compat: the manager', () => {
  let app: INestApplicationContext;
  let manager: Cache;
  const logger = new RecordingLogger();
  beforeAll(async () => {
    app = await boot(CacheModule.register({ ttl: 5000, logger }));
    manager = app.get(Consumer).manager;
  });
  afterAll(() => app.close());

  it('set with undefined, or a negative TTL, leaves nothing (as cache-manager)', async () => {
    await manager.set('a', 1);
    expect(await manager.set('a', undefined)).toBeUndefined();
    expect(await manager.get('a')).toBeUndefined();
    await manager.set('b', 1);
    expect(await manager.set('b', 2, -1)).toBe(2);
    expect(await manager.get('b')).toBeUndefined();
  });

  it('mset resolves to the entries with their TTL', async () => {
    expect(
      await manager.mset([
        { key: 'm1', value: 1 },
        { key: 'm2', value: 2, ttl: 100 },
      ]),
    ).toEqual([
      { key: 'm1', value: 1, ttl: 5000 },
      { key: 'm2', value: 2, ttl: 100 },
    ]);
    expect(await manager.mget(['m1', 'm2'])).toEqual([1, 2]);
  });

  it('wrap: a TTL computed from the value, raw entries, nothing stored for undefined or a throw', async () => {
    const ttlOf = (value: { minutes: number }) => value.minutes * 60_000;
    expect(await manager.wrap('fn-ttl', async () => ({ minutes: 2 }), ttlOf)).toEqual({
      minutes: 2,
    });
    expect((await manager.ttl('fn-ttl'))! - Date.now()).toBeGreaterThan(119_000);
    expect(await manager.wrap('raw', () => 'v', { ttl: 1000, raw: true })).toEqual({
      value: 'v',
      expires: expect.any(Number),
    });
    expect(await manager.wrap('nothing', async () => undefined)).toBeUndefined();
    expect(await manager.get('nothing')).toBeUndefined();
    await expect(manager.wrap('fails', () => Promise.reject(new Error('down')))).rejects.toThrow(
      'down',
    );
    expect(await manager.wrap('fails', () => 'recovered')).toBe('recovered');
  });

  it('wrap with refreshThreshold computes as usual and warns once that it is ignored', async () => {
    await manager.wrap('r1', () => 1, 1000, 500);
    await manager.wrap('r2', () => 2, { ttl: 1000, refreshThreshold: 500 });
    expect(logger.matching('warn', 'refreshThreshold is not supported')).toHaveLength(1);
  });
});

describe('nest-tiered-cache/compat on two instances sharing a Redis', () => {
  let redis: RedisServerHarness;
  const apps: INestApplicationContext[] = [];
  beforeAll(async () => {
    redis = await RedisServerHarness.start();
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await redis.stop();
  });

  it('a value set by one is read by the other, and a del by one evicts both L1 copies', async () => {
    const options: CacheModuleOptions = {
      ttl: 60_000,
      namespace: 'compat',
      local: { backend: 'memory' },
      shared: { backend: 'redis', url: redis.url },
    };
    for (let i = 0; i < 2; i++) apps.push(await boot(CacheModule.register(options)));
    const [a, b] = apps.map((app) => app.get(Consumer).manager);
    await a!.set('user:1', { name: 'Ada' });
    expect(await b!.get('user:1')).toEqual({ name: 'Ada' }); // from Redis, now in b's L1 too
    expect(await redis.command('EXISTS compat:user:1')).toBe(':1');
    await a!.del('user:1');
    await waitFor(async () => (await b!.get('user:1')) === undefined, "b's L1 copy is evicted");
  });
});
