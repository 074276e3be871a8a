import { afterEach, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  Injectable,
  Module,
  type INestApplication,
  type INestApplicationContext,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import * as library from 'nest-tiered-cache';
import {
  CacheModule,
  CacheService,
  Cached,
  InjectCache,
  X_CACHE,
  duration,
} from 'nest-tiered-cache';

/**
 * What a newcomer sees when the module is set up wrong: each message names what to do, not
 * Nest's internal provider names.
 */

@Controller('items')
class ItemsController {
  runs = 0;
  @Get(':id')
  @Cached({ key: 'item:{id}' })
  async findOne(): Promise<{ runs: number }> {
    return { runs: ++this.runs };
  }
}

@Injectable()
class GuildStore {
  constructor(@InjectCache('guild-config') readonly cache: CacheService) {}
}

@Injectable()
class TypoStore {
  constructor(@InjectCache('guild-cofnig') readonly cache: CacheService) {}
}

describe('setup mistakes a newcomer makes', () => {
  let app: INestApplicationContext | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  const boot = async (metadata: Parameters<typeof Test.createTestingModule>[0]) => {
    const moduleRef = await Test.createTestingModule(metadata).compile();
    app = await moduleRef.init();
    return app;
  };

  it('@Cached on a route without CacheModule.forRoot() says to import it', async () => {
    const failure = boot({ controllers: [ItemsController] });
    await expect(failure).rejects.toThrow(/import CacheModule\.forRoot\(\)/);
    await expect(failure).rejects.not.toThrow(/CachePlanRegistry/);
  });

  it('forFeature without CacheModule.forRoot() says to import it', async () => {
    @Module({
      imports: [CacheModule.forFeature({ name: 'guild-config' })],
      providers: [GuildStore],
    })
    class GuildModule {}
    const failure = boot({ imports: [GuildModule] });
    await expect(failure).rejects.toThrow(
      /CacheModule\.forFeature\(\{ name: 'guild-config' \}\) needs CacheModule\.forRoot\(\)/,
    );
  });

  it('@InjectCache with an unknown name lists the registered caches', async () => {
    @Module({
      imports: [CacheModule.forFeature({ name: 'guild-config' }, { name: 'sessions' })],
      providers: [TypoStore],
    })
    class TypoModule {}
    const failure = boot({ imports: [CacheModule.forRoot(), TypoModule] });
    await expect(failure).rejects.toThrow(
      /TypoStore: @InjectCache\('guild-cofnig'\): no cache is named "guild-cofnig".*registered: "guild-config", "sessions"/,
    );
  });

  it('a known name still resolves, also next to an unknown one elsewhere in the process', async () => {
    @Module({
      imports: [CacheModule.forFeature({ name: 'guild-config' })],
      providers: [GuildStore],
    })
    class GuildModule {}
    const context = await boot({ imports: [CacheModule.forRoot(), GuildModule] });
    expect(context.get(GuildStore).cache.name).toBe('guild-config');
  });
});

describe('durations from configuration', () => {
  it('duration() types a configured string; a bad one fails bootstrap naming the option', async () => {
    const env: Record<string, string | undefined> = { CACHE_TTL: '5min' };
    const failure = Test.createTestingModule({
      imports: [CacheModule.forRoot({ ttl: duration(env.CACHE_TTL) })],
    }).compile();
    await expect(failure).rejects.toThrow(
      /Invalid duration for option "ttl": "5min" must look like '500ms', '30s', '5m', '1h30m' or '7d'/,
    );
    expect(duration(env.UNSET)).toBeUndefined();
    expect(duration('90s')).toBe('90s');
  });

  it('the parser itself is not part of the public API (its signature is internal)', () => {
    expect(Object.keys(library)).not.toContain('parseDuration');
    expect(Object.keys(library)).toContain('duration');
  });
});

describe('enabled: false', () => {
  let http: INestApplication | undefined;
  afterEach(async () => {
    await http?.close();
    http = undefined;
  });

  it('sends no X-Cache header: the route answers as without the cache', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [CacheModule.forRoot({ enabled: false })],
      controllers: [ItemsController],
    }).compile();
    http = moduleRef.createNestApplication();
    await http.init();
    const first = await request(http.getHttpServer()).get('/items/1').expect(200);
    const second = await request(http.getHttpServer()).get('/items/1').expect(200);
    expect(first.headers[X_CACHE.toLowerCase()]).toBeUndefined();
    expect(second.headers[X_CACHE.toLowerCase()]).toBeUndefined();
    expect(second.body.runs).toBe(first.body.runs + 1);
  });
});
