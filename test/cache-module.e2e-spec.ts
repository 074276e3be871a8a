import { afterEach, describe, expect, it } from '@jest/globals';
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
  constructor(@InjectCache('guild-config') readonly cache: CacheService, readonly root: CacheService) {}

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
