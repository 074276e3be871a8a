import { afterEach, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  Injectable,
  NotFoundException,
  Param,
  UseInterceptors,
  type CallHandler,
  type ExecutionContext,
  type INestApplication,
  type NestInterceptor,
} from '@nestjs/common';
import { APP_INTERCEPTOR, Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { map, of, type Observable } from 'rxjs';
import request from 'supertest';
import { CachedResponse, CacheService } from 'nest-tiered-cache';
import {
  Cache,
  CacheInterceptor,
  CacheKey,
  CacheModule,
  type CacheModuleOptions,
} from 'nest-tiered-cache/compat';
import { deferred } from '../../libs/tiered-cache/test/test-cache.js';
import { waitFor } from '../../libs/tiered-cache/test/wait-for.js';

/** What the compat CacheInterceptor does on top of @nestjs/cache-manager's. */

let runs = 0;
let gate: ReturnType<typeof deferred<void>> | undefined;

@Controller('things')
@UseInterceptors(CacheInterceptor)
class ThingsController {
  @Get('missing')
  missing(): never {
    runs++;
    throw new NotFoundException('no such thing');
  }

  @Get(':id')
  async find(@Param('id') id: string): Promise<{ id: string; run: number }> {
    const run = ++runs;
    await gate?.promise;
    return { id, run };
  }
}

/** Caches requests with credentials too (a route whose answer is the same for everybody). */
@Injectable()
class SharedCacheInterceptor extends CacheInterceptor {
  protected override isRequestCacheable(context: ExecutionContext): boolean {
    return context.switchToHttp().getRequest<{ method: string }>().method === 'GET';
  }
}

@Controller('shared')
@UseInterceptors(SharedCacheInterceptor)
class SharedController {
  @Get(':id')
  find(@Param('id') id: string): { id: string; run: number } {
    return { id, run: ++runs };
  }
}

/** An application interceptor around every route: wraps the value in `{ data }`. */
@Injectable()
class Envelope implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((data) => ({ data })));
  }
}

describe('nest-tiered-cache/compat: CacheInterceptor', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
    runs = 0;
    gate = undefined;
  });

  const start = async (options: CacheModuleOptions = {}, fastify = false) => {
    const moduleRef = await Test.createTestingModule({
      imports: [CacheModule.register({ ttl: 60_000, ...options })],
      controllers: [ThingsController, SharedController],
      providers: [{ provide: APP_INTERCEPTOR, useClass: Envelope }],
    }).compile();
    if (fastify) {
      const created = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
      await created.init();
      await created.getHttpAdapter().getInstance().ready();
      app = created;
    } else {
      app = moduleRef.createNestApplication();
      await app.init();
    }
    return () => request(app!.getHttpServer());
  };

  it.each([false, true])(
    'answers a hit with what the miss sent, through the app interceptors (Fastify: %s)',
    async (fastify) => {
      const http = await start({}, fastify);
      const miss = await http().get('/things/1').expect(200);
      const hit = await http().get('/things/1').expect(200);
      expect([miss.headers['x-cache'], hit.headers['x-cache']]).toEqual(['MISS', 'HIT']);
      expect(hit.body).toEqual({ data: { id: '1', run: 1 } });
      expect(hit.body).toEqual(miss.body);
      // The entry is the answer as sent, not the handler's value.
      expect(await app!.get(Cache).get('/things/1')).toBeInstanceOf(CachedResponse);
    },
  );

  it('runs the handler once for concurrent misses of one URL', async () => {
    const http = await start();
    gate = deferred<void>();
    const all = Promise.all([1, 2, 3].map(() => http().get('/things/2')));
    // All three looked the key up (and missed) before the first handler may finish.
    await waitFor(() => app!.get(CacheService).stats().misses === 3, 'three misses');
    gate.resolve();
    const answers = await all;
    expect(answers.map((a) => a.body)).toEqual(Array(3).fill({ data: { id: '2', run: 1 } }));
    expect(runs).toBe(1);
  });

  it('stores no error answer', async () => {
    const http = await start();
    await http().get('/things/missing').expect(404);
    await http().get('/things/missing').expect(404);
    expect(runs).toBe(2);
  });

  it('does not cache a request with credentials, unless isRequestCacheable says so', async () => {
    const http = await start();
    for (let i = 0; i < 2; i++) {
      const answer = await http().get('/things/3').set('authorization', 'Bearer alice').expect(200);
      expect(answer.headers['x-cache']).toBeUndefined();
    }
    expect(runs).toBe(2);
    await http().get('/shared/3').set('cookie', 'session=bob').expect(200);
    const hit = await http().get('/shared/3').set('cookie', 'session=carol').expect(200);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(runs).toBe(3);
  });

  it('with enabled: false, answers as without the cache: no X-Cache header', async () => {
    const http = await start({ enabled: false });
    for (let i = 0; i < 2; i++)
      expect((await http().get('/things/4').expect(200)).headers['x-cache']).toBeUndefined();
    expect(runs).toBe(2);
  });

  it('caches the value of a non-HTTP handler (RPC, WebSocket) under its @CacheKey', async () => {
    await start();
    class Handlers {
      @CacheKey('rpc:stock')
      stock(): number {
        return ++runs;
      }
    }
    const interceptor = new CacheInterceptor(app!.get(Cache), app!.get(Reflector));
    const context = new ExecutionContextHost([{}], Handlers, Handlers.prototype.stock);
    context.setType('rpc');
    const call = async () => {
      const out = await interceptor.intercept(context, {
        handle: () => of(Handlers.prototype.stock()),
      });
      return new Promise((resolve) => out.subscribe(resolve));
    };
    expect(await call()).toBe(1);
    expect(await call()).toBe(1);
    expect(await app!.get(Cache).get('rpc:stock')).toBe(1);
  });

  it("refuses another library's cache manager, saying where to import the module from", () => {
    expect(() => new CacheInterceptor({} as Cache, new Reflector())).toThrow(
      /needs the CACHE_MANAGER of nest-tiered-cache\/compat: import CacheModule\.register\(\) from it/,
    );
  });
});
