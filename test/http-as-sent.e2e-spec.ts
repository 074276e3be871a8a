import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ClassSerializerInterceptor,
  Controller,
  ForbiddenException,
  Get,
  Header,
  Injectable,
  Module,
  Param,
  UseGuards,
  type CallHandler,
  type CanActivate,
  type DynamicModule,
  type ExecutionContext,
  type INestApplication,
  type NestInterceptor,
  type Type,
} from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Exclude } from 'class-transformer';
import { map, type Observable } from 'rxjs';
import request from 'supertest';
import { CacheModule, CacheService, Cached, type CacheModuleOptions } from 'nest-tiered-cache';
import { RedisServerHarness } from '../libs/tiered-cache/test/redis-server.harness.js';
import { HTTP_PLATFORMS, startHttpApp } from './support/http-app.js';

/**
 * Issue 11, point 1: a hit answers the very bytes and content type the miss answered, whatever the
 * application's global interceptors and serializers do, on Express and Fastify, from an L1 (memory)
 * and from an L2 (Redis) hit.
 */

const CREATED = new Date('2026-01-02T03:04:05.678Z');

/** An entity whose secret only `ClassSerializerInterceptor` removes. */
class UserEntity {
  id!: string;
  email!: string;
  @Exclude()
  passwordHash!: string;
  createdAt!: Date;
  tags!: string[];

  constructor(partial: Partial<UserEntity>) {
    Object.assign(this, partial);
  }
}

/**
 * A value whose `toJSON` hides its secret, and holds a Date (JSON alone cannot keep it). The
 * secret is also `@Exclude()`d, since `ClassSerializerInterceptor` ignores `toJSON`.
 */
class Account {
  @Exclude()
  readonly passwordHash: string;

  constructor(
    readonly id: string,
    readonly email: string,
    passwordHash: string,
    readonly createdAt: Date,
  ) {
    this.passwordHash = passwordHash;
  }

  toJSON() {
    return { id: this.id, email: this.email, createdAt: this.createdAt };
  }
}

/** Counts handler runs, per route. */
@Injectable()
class Calls {
  readonly counts = new Map<string, number>();
  count(route: string): number {
    const n = (this.counts.get(route) ?? 0) + 1;
    this.counts.set(route, n);
    return n;
  }
}

/** Refuses requests with `x-deny` (guards run before interceptors, so before any hit). */
@Injectable()
class DenyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>();
    if (req.headers['x-deny'] !== undefined) throw new ForbiddenException('denied');
    return true;
  }
}

@Controller('sent')
@UseGuards(DenyGuard)
class SentController {
  constructor(private readonly calls: Calls) {}

  @Get('entity/:id')
  @Cached({ key: 'entity:{id}' })
  async entity(@Param('id') id: string) {
    this.calls.count('entity');
    return new UserEntity({
      id,
      email: `${id}@example.com`,
      passwordHash: 'secret-hash',
      createdAt: CREATED,
      tags: ['a', 'b'],
    });
  }

  @Get('entities')
  @Cached({ key: 'entities' })
  async entities() {
    this.calls.count('entities');
    return [
      new UserEntity({ id: '1', email: 'a@x', passwordHash: 'h1', createdAt: CREATED, tags: [] }),
      new UserEntity({ id: '2', email: 'b@x', passwordHash: 'h2', createdAt: CREATED, tags: [] }),
    ];
  }

  @Get('account/:id')
  @Cached({ key: 'account:{id}' })
  async account(@Param('id') id: string) {
    this.calls.count('account');
    return new Account(id, `${id}@example.com`, 'secret-hash', CREATED);
  }

  @Get('text')
  @Cached({ key: 'text' })
  async text() {
    return `héllo <b>#${this.calls.count('text')}</b>`;
  }

  @Get('buffer')
  @Cached({ key: 'buffer' })
  async buffer() {
    this.calls.count('buffer');
    return Buffer.from([0, 1, 2, 254, 255]);
  }

  @Get('csv')
  @Cached({ key: 'csv' })
  @Header('Content-Type', 'text/csv')
  async csv() {
    return `id,n\n1,${this.calls.count('csv')}\n`;
  }
}

/** The global response-mapping interceptor many apps have: every body becomes `{ data }`. */
@Injectable()
class WrapInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((data: unknown) => ({ data })));
  }
}

const ROUTES = [
  '/sent/entity/7',
  '/sent/entities',
  '/sent/account/7',
  '/sent/text',
  '/sent/buffer',
  '/sent/csv',
];

const setups: Array<{ setup: string; interceptors: Array<Type<NestInterceptor>> }> = [
  { setup: 'a global ClassSerializerInterceptor', interceptors: [ClassSerializerInterceptor] },
  { setup: 'a global { data } interceptor', interceptors: [WrapInterceptor] },
  {
    setup: 'both, the serializer outermost',
    interceptors: [ClassSerializerInterceptor, WrapInterceptor],
  },
];

/** supertest parser that keeps the body as the bytes received. */
function bytes(res: request.Response, done: (err: Error | null, body: Buffer) => void): void {
  const stream = res as unknown as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => done(null, Buffer.concat(chunks)));
}

async function startApp(
  adapter: () => ExpressAdapter | FastifyAdapter,
  interceptors: Array<Type<NestInterceptor>>,
  cache: CacheModuleOptions,
): Promise<INestApplication> {
  const imports: DynamicModule[] = [CacheModule.forRoot({ namespace: 'sent', ...cache })];
  @Module({
    imports,
    controllers: [SentController],
    providers: [Calls, ...interceptors.map((useClass) => ({ provide: APP_INTERCEPTOR, useClass }))],
  })
  class AppModule {}
  const app = await startHttpApp(AppModule, adapter);
  return app;
}

let redis: RedisServerHarness;
beforeAll(async () => {
  redis = await RedisServerHarness.start();
});
afterAll(async () => {
  await redis.stop();
});

const tiers: Array<{ tier: string; options: () => CacheModuleOptions }> = [
  { tier: 'memory L1', options: () => ({ local: { backend: 'memory' } }) },
  {
    tier: 'Redis L2',
    options: () => ({ shared: { backend: 'redis', url: redis.url }, bus: false }),
  },
];

describe.each(HTTP_PLATFORMS)(
  'a cached route on $name answers as sent',
  ({ name: platform, adapter }) => {
    describe.each(setups)('with $setup', ({ interceptors }) => {
      const serializes = interceptors.includes(ClassSerializerInterceptor);
      const wraps = interceptors.includes(WrapInterceptor);
      // Fastify refuses to send an object ({ data }) under a text/csv content type: a 500, on its own.
      const routes = ROUTES.filter(
        (path) => !(path === '/sent/csv' && wraps && platform === 'fastify'),
      );
      describe.each(tiers)('from a $tier hit', ({ options }) => {
        let app: INestApplication;
        let calls: Calls;
        const get = (path: string) =>
          request(app.getHttpServer()).get(path).buffer(true).parse(bytes);

        beforeAll(async () => {
          app = await startApp(adapter, interceptors, options());
          calls = app.get(Calls);
          await app.get(CacheService).clear();
        });
        afterAll(async () => {
          await app.close();
        });

        it.each(routes)('GET %s: the same bytes and content type, hit after miss', async (path) => {
          const miss = await get(path).expect(200);
          const hit = await get(path).expect(200);
          expect(miss.headers['x-cache']).toBe('MISS');
          expect(hit.headers['x-cache']).toBe('HIT');
          expect((hit.body as Buffer).equals(miss.body as Buffer)).toBe(true);
          expect(hit.headers['content-type']).toBe(miss.headers['content-type']);
          expect(hit.headers['content-length']).toBe(miss.headers['content-length']);
          expect(hit.headers.etag).toBe(miss.headers.etag);
          expect(hit.headers.etag).toMatch(/^"[\w-]{27}"$/);
          // What the app hides on the miss stays hidden on the hit (it is the same bytes).
          const text = (miss.body as Buffer).toString('utf8');
          if (serializes || path === '/sent/account/7') expect(text).not.toContain('secret');
          if (serializes) expect(text).not.toContain('"h1"');
          expect(calls.counts.get(path.split('/')[2]!)).toBe(1);
        });

        it('serializes the class and the toJSON value as the app does (no secret, ISO dates)', async () => {
          const entity = JSON.parse(
            ((await get('/sent/entity/7').expect(200)).body as Buffer).toString('utf8'),
          ) as Record<string, unknown>;
          const account = JSON.parse(
            ((await get('/sent/account/7').expect(200)).body as Buffer).toString('utf8'),
          ) as Record<string, unknown>;
          const unwrap = (body: Record<string, unknown>) =>
            (wraps ? body.data : body) as Record<string, unknown>;
          expect(unwrap(entity)).toEqual({
            id: '7',
            email: '7@example.com',
            ...(serializes ? {} : { passwordHash: 'secret-hash' }),
            createdAt: CREATED.toISOString(),
            tags: ['a', 'b'],
          });
          expect(unwrap(account)).toEqual({
            id: '7',
            email: '7@example.com',
            createdAt: CREATED.toISOString(),
          });
        });

        if (wraps && platform === 'fastify') {
          it('never stores an answer that failed (Fastify: an object under text/csv)', async () => {
            await get('/sent/csv').expect(500);
            const again = await get('/sent/csv').expect(500);
            expect(again.headers['x-cache']).toBe('MISS');
            expect(calls.counts.get('csv')).toBe(2);
          });
        }

        it('runs guards before any hit', async () => {
          await get('/sent/entity/8').expect(200);
          expect((await get('/sent/entity/8').expect(200)).headers['x-cache']).toBe('HIT');
          const denied = await get('/sent/entity/8').set('x-deny', '1').expect(403);
          expect(denied.headers['x-cache']).toBeUndefined();
          expect((denied.body as Buffer).toString('utf8')).toContain('denied');
        });
      });
    });
  },
);
