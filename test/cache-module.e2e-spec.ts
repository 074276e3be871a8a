import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CacheModule, CacheService, InjectCache, type CacheModuleOptions } from 'nest-tiered-cache';

@Injectable()
class ConfigService {
  get(name: string): string | undefined {
    return { CACHE_NS: 'e2e:v1', CACHE_TTL: '5m' }[name];
  }
}

@Module({ providers: [ConfigService], exports: [ConfigService] })
class ConfigModule {}

@Injectable()
class GuildConfigStore {
  loads = 0;
  constructor(
    @InjectCache('guild-config') readonly cache: CacheService,
    readonly root: CacheService,
  ) {}

  config(guildId: number): Promise<{ guildId: number; auditLog: number }> {
    return this.cache.getOrSet(`guild:${guildId}`, async () => {
      this.loads++;
      return { guildId, auditLog: 1000 + guildId };
    });
  }
}

@Module({
  imports: [CacheModule.forFeature({ name: 'guild-config', ttl: '10m' })],
  providers: [GuildConfigStore],
  exports: [GuildConfigStore],
})
class GuildModule {}

describe('CacheModule in a Nest application', () => {
  let app: INestApplicationContext | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('boots with forRootAsync + inject and serves forFeature caches', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        CacheModule.forRootAsync({
          isGlobal: true,
          imports: [ConfigModule],
          inject: [ConfigService],
          useFactory: (config: ConfigService): CacheModuleOptions => ({
            namespace: config.get('CACHE_NS')!,
            ttl: config.get('CACHE_TTL') as '5m',
          }),
        }),
        GuildModule,
      ],
    }).compile();
    app = await moduleRef.init();
    const store = app.get(GuildConfigStore);
    expect(await store.config(7)).toEqual({ guildId: 7, auditLog: 1007 });
    expect(await store.config(7)).toEqual({ guildId: 7, auditLog: 1007 });
    expect(store.loads).toBe(1);
    expect(store.cache.namespace).toBe('e2e:v1:guild-config');
    expect(await store.root.get('guild-config:guild:7')).toEqual({ guildId: 7, auditLog: 1007 });
    expect(await store.cache.ttl('guild:7')).toBeGreaterThan(9 * 60);
    expect(store.root.stats().hits).toBeGreaterThanOrEqual(1);
  });
});

/** A regular file: no directory can be created below it. */
const blocker = path.join(mkdtempSync(path.join(os.tmpdir(), 'ntc-blocker-')), 'file');
writeFileSync(blocker, 'not a directory');

describe('CacheModule bootstrap validation', () => {
  afterAll(() => rmSync(path.dirname(blocker), { recursive: true, force: true }));
  const boot = async (options: CacheModuleOptions) => {
    const moduleRef = await Test.createTestingModule({
      imports: [CacheModule.forRoot(options)],
    }).compile();
    const app = await moduleRef.init();
    return app;
  };

  it.each<[string, CacheModuleOptions, RegExp]>([
    [
      'a wrong backend name',
      { shared: { backend: 'redsi' as 'redis', url: 'redis://127.0.0.1:1' } },
      /"shared\.backend".*"redsi" is not a backend.*memory, memory-no-serializer, redis/,
    ],
    ['a negative TTL', { ttl: -5 }, /"ttl".*-5/],
    ['an unparsable TTL', { ttl: '5 minutes' as '5m' }, /"ttl".*"5 minutes"/],
    ['an unparsable tier TTL', { local: { backend: 'memory', ttl: '1y' as '1m' } }, /"local\.ttl"/],
    [
      'a Redis URL that does not parse',
      { shared: { backend: 'redis', url: 'redis//no-colon' } },
      /"shared\.url".*not a URL/,
    ],
    [
      'a URL of another protocol',
      { shared: { backend: 'redis', url: 'http://127.0.0.1:6379' } },
      /"shared\.url".*http:/,
    ],
    [
      'a misspelt option',
      { local: { backend: 'memory', maxEntires: 5 } as never },
      /"local\.maxEntires": unknown option/,
    ],
    [
      'a filesystem dir that cannot be created',
      { local: { backend: 'filesystem', dir: `${blocker}/cache` } },
      /"local\.dir".*cannot be used.*ENOTDIR/,
    ],
    ['a namespace with glob characters', { namespace: 'shop:*' }, /"namespace"/],
  ])('fails at bootstrap on %s, naming the option', async (_case, options, message) => {
    await expect(boot(options)).rejects.toThrow(message);
  });

  it('names a bad forFeature option when the module is declared', () => {
    expect(() => CacheModule.forFeature({ name: 'bad name!' })).toThrow(/"forFeature\.name"/);
    expect(() => CacheModule.forFeature({ name: 'ok', ttl: 'soon' as '1m' })).toThrow(
      /"forFeature\(ok\)\.ttl"/,
    );
  });

  it('opens no connection with enabled: false, every read misses, and every call runs its origin', async () => {
    const app = await boot({
      enabled: false,
      local: { backend: 'memory' },
      shared: { backend: 'redis', url: 'redis://127.0.0.1:1', connectTimeout: '5s' },
    });
    const cache = app.get(CacheService);
    await cache.set('k', 'v');
    expect(await cache.get('k')).toBeUndefined();
    expect(cache.stats().tiers.shared?.backend).toBe('null');
    // Not even concurrent calls are coalesced: the switch means "as without the cache".
    let calls = 0;
    let open!: () => void;
    const gate = {
      promise: new Promise<void>((resolve) => (open = resolve)),
      resolve: () => open(),
    };
    const all = Promise.all(
      Array.from({ length: 5 }, () =>
        cache.getOrSet('hot', async () => {
          calls++;
          await gate.promise;
          return calls;
        }),
      ),
    );
    await new Promise((resolve) => setImmediate(resolve));
    gate.resolve();
    await all;
    expect(calls).toBe(5);
    await app.close();
  });

  it('defaults to one local memory tier', async () => {
    const app = await boot({});
    const cache = app.get(CacheService);
    await cache.set('k', 'v');
    expect(await cache.get('k')).toBe('v');
    expect(cache.stats().tiers).toEqual({
      local: expect.objectContaining({ backend: 'memory', hits: 1 }),
    });
    expect(cache.namespace).toBe('cache');
    await app.close();
  });
});
