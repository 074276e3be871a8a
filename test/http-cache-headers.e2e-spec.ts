import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  Header,
  Injectable,
  Module,
  Param,
  ServiceUnavailableException,
  UseGuards,
  UseInterceptors,
  type CallHandler,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
  type NestInterceptor,
} from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { Readable } from 'node:stream';
import { map, type Observable } from 'rxjs';
import request from 'supertest';
import { CacheModule, CacheService, Cached, CacheErrorCode } from 'nest-tiered-cache';
import { FakeClock } from '../libs/tiered-cache/test/test-cache.js';
import { HTTP_PLATFORMS, startHttpApp } from './support/http-app.js';

/** Issue 11, point 3 (ETag, 304, Cache-Control, Age) and what is never stored. */

@Injectable()
class Calls {
  readonly counts = new Map<string, number>();
  count(route: string): number {
    const n = (this.counts.get(route) ?? 0) + 1;
    this.counts.set(route, n);
    return n;
  }
}

/** Sets request.user from `x-user`, as an auth guard would. */
@Injectable()
class UserGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string>; user?: unknown }>();
    if (req.headers['x-user'] !== undefined) req.user = { id: req.headers['x-user'] };
    return true;
  }
}

/** Outside the cache's interceptor: fails on the way out when asked to (`x-fail`). */
@Injectable()
class FailOnTheWayOut implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, string> }>();
    return next.handle().pipe(
      map((value) => {
        if (req.headers['x-fail'] !== undefined) throw new ServiceUnavailableException('down');
        return value;
      }),
    );
  }
}

@Controller('h')
@UseGuards(UserGuard)
@UseInterceptors(FailOnTheWayOut)
class HeadersController {
  constructor(private readonly calls: Calls) {}

  @Get('plain/:id')
  @Cached({ key: 'plain:{id}' })
  async plain(@Param('id') id: string) {
    return { id, n: this.calls.count('plain') };
  }

  @Get('browser')
  @Cached({ key: 'browser', httpCache: { maxAge: '1m' } })
  async browser() {
    return { n: this.calls.count('browser') };
  }

  @Get('shared')
  @Cached({ key: 'shared', scope: 'public', httpCache: { maxAge: 60, sharedMaxAge: '5m' } })
  async shared() {
    return { n: this.calls.count('shared') };
  }

  @Get('mine')
  @Cached({ key: 'mine:{user.id}', httpCache: { maxAge: 60, sharedMaxAge: '5m' } })
  async mine() {
    return { n: this.calls.count('mine') };
  }

  @Get('stream')
  @Cached({ key: 'stream' })
  async stream() {
    this.calls.count('stream');
    return Readable.from([Buffer.from('chunk 1, '), Buffer.from('chunk 2')]);
  }

  @Get('cookie')
  @Cached({ key: 'cookie' })
  @Header('Set-Cookie', 'sid=1; HttpOnly')
  async cookie() {
    return { n: this.calls.count('cookie') };
  }
}

const clock = new FakeClock(Date.UTC(2026, 0, 1));

@Module({
  imports: [CacheModule.forRoot({ namespace: 'headers', clock: clock.read })],
  controllers: [HeadersController],
  providers: [Calls],
})
class AppModule {}

describe.each(HTTP_PLATFORMS)('HTTP caching headers on $name', ({ adapter }) => {
  let app: INestApplication;
  let calls: Calls;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    app = await startHttpApp(AppModule, adapter);
    calls = app.get(Calls);
  });
  afterEach(async () => {
    await app.get(CacheService).clear();
    calls.counts.clear();
  });
  afterAll(async () => {
    await app.close();
  });

  it('sends one strong ETag on the miss and the hits, and 304 with no body when it matches', async () => {
    const miss = await http().get('/h/plain/1').expect(200);
    const etag = miss.headers.etag as string;
    expect(etag).toMatch(/^"[\w-]{27}"$/);
    const hit = await http().get('/h/plain/1').expect(200);
    expect(hit.headers.etag).toBe(etag);

    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const notModified = await http().get('/h/plain/1').set('if-none-match', ifNoneMatch);
      expect(notModified.status).toBe(304);
      expect(notModified.text ?? '').toBe('');
      expect(notModified.headers['content-length']).toBeUndefined();
      expect(notModified.headers.etag).toBe(etag);
      expect(notModified.headers['x-cache']).toBe('HIT');
    }
    const changed = await http().get('/h/plain/1').set('if-none-match', '"other"').expect(200);
    expect(changed.body).toEqual({ id: '1', n: 1 });

    const head = await http().head('/h/plain/1').expect(200);
    expect(head.headers['x-cache']).toBe('HIT');
    expect(head.headers['content-length']).toBe(miss.headers['content-length']);
    expect(calls.counts.get('plain')).toBe(1);
  });

  it('adds Cache-Control on the miss and the hits, and Age on the hits, with httpCache', async () => {
    const miss = await http().get('/h/browser').expect(200);
    expect(miss.headers['cache-control']).toBe('private, max-age=60');
    expect(miss.headers.age).toBeUndefined();
    clock.advance(5_400);
    const hit = await http().get('/h/browser').expect(200);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers['cache-control']).toBe('private, max-age=60');
    expect(hit.headers.age).toBe('5');
    const notModified = await http()
      .get('/h/browser')
      .set('if-none-match', miss.headers.etag as string)
      .expect(304);
    expect(notModified.headers['cache-control']).toBe('private, max-age=60');
    expect(notModified.headers.age).toBe('5');

    const plain = await http().get('/h/plain/2').expect(200);
    expect((await http().get('/h/plain/2').expect(200)).headers.age).toBeUndefined();
    expect(plain.headers['cache-control']).toBeUndefined();
  });

  it('makes answers public for shared caches only with sharedMaxAge, and never for a user', async () => {
    const anonymous = await http().get('/h/shared').expect(200);
    expect(anonymous.headers['cache-control']).toBe('public, max-age=60, s-maxage=300');
    const withAuth = await http().get('/h/shared').set('authorization', 'Bearer a').expect(200);
    expect(withAuth.headers['x-cache']).toBe('HIT');
    expect(withAuth.headers['cache-control']).toBe('private, max-age=60');

    const mine = await http().get('/h/mine').set('x-user', 'ada').expect(200);
    expect(mine.headers['cache-control']).toBe('private, max-age=60');
    const again = await http().get('/h/mine').set('x-user', 'ada').expect(200);
    expect(again.headers['x-cache']).toBe('HIT');
    expect(again.headers['cache-control']).toBe('private, max-age=60');
  });

  it('answers a value written under the route key with CacheService (a warm-up) as a value', async () => {
    await app.get(CacheService).set('plain:9', { id: '9', warmed: true });
    const hit = await http().get('/h/plain/9').expect(200);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body).toEqual({ id: '9', warmed: true });
    expect(calls.counts.get('plain')).toBeUndefined();
  });

  it('never stores a streamed body', async () => {
    const text = (res: request.Response, done: (err: Error | null, body: string) => void) => {
      let body = '';
      const stream = res as unknown as NodeJS.ReadableStream;
      stream.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      stream.on('end', () => done(null, body));
    };
    await http().get('/h/stream').buffer(true).parse(text).expect(200);
    const second = await http().get('/h/stream').buffer(true).parse(text).expect(200);
    expect(second.body).toBe('chunk 1, chunk 2');
    expect(second.headers['x-cache']).toBe('MISS');
    expect(calls.counts.get('stream')).toBe(2);
  });

  it('never stores an answer that sets a cookie', async () => {
    await http().get('/h/cookie').expect(200);
    const again = await http().get('/h/cookie').expect(200);
    expect(again.headers['set-cookie']).toEqual(['sid=1; HttpOnly']);
    expect(again.headers['x-cache']).toBe('MISS');
    expect(calls.counts.get('cookie')).toBe(2);
  });

  it('sends the error of an interceptor outside the cache on a hit, not the stored answer', async () => {
    const miss = await http().get('/h/plain/3').expect(200);
    const failed = await http().get('/h/plain/3').set('x-fail', '1').expect(503);
    expect(failed.body).toMatchObject({ statusCode: 503, message: 'down' });
    expect(failed.headers.etag).not.toBe(miss.headers.etag); // Express adds a weak one of its own
    const hit = await http().get('/h/plain/3').expect(200);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body).toEqual({ id: '3', n: 1 });
  });
});

describe('@Cached({ httpCache }) options', () => {
  const apply = (options: object) => () =>
    Cached(options)(class Ctl {}.prototype, 'route', { value: async () => undefined });

  it('are checked where the decorator is applied, naming the option', () => {
    expect(apply({ httpCache: {} })).toThrow(
      expect.objectContaining({
        code: CacheErrorCode.E_INVALID_OPTION,
        message: expect.stringMatching(
          /Ctl\.route: invalid option "httpCache\.maxAge": is required/,
        ),
      }),
    );
    expect(apply({ httpCache: { maxAge: 60, public: true } })).toThrow(
      /"httpCache.public": unknown option/,
    );
    expect(apply({ httpCache: '1m' })).toThrow(/"httpCache": "1m" must be an object/);
    expect(apply({ httpCache: { maxAge: '-1s' } })).toThrow(
      expect.objectContaining({ code: CacheErrorCode.E_INVALID_DURATION }),
    );
    expect(apply({ httpCache: { maxAge: 0, sharedMaxAge: 'soon' } })).toThrow(
      /httpCache.sharedMaxAge/,
    );
    expect(apply({ httpCache: { maxAge: 0, sharedMaxAge: '1h' } })).not.toThrow();
  });

  it('fail bootstrap on a provider method, which has no HTTP answer', async () => {
    @Injectable()
    class Reports {
      @Cached({ httpCache: { maxAge: 60 } })
      async total() {
        return 1;
      }
    }
    @Module({ imports: [CacheModule.forRoot({})], providers: [Reports] })
    class ProviderModule {}
    const moduleRef = await Test.createTestingModule({ imports: [ProviderModule] }).compile();
    const app = moduleRef.createNestApplication(new ExpressAdapter(), { logger: false });
    await expect(app.init()).rejects.toMatchObject({
      code: CacheErrorCode.E_INVALID_OPTION,
      message: expect.stringMatching(/Reports\.total: invalid option "httpCache": .*routes only/),
    });
    await app.close();
  });
});
