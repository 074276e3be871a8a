import {
  CacheInterceptor as CacheManagerInterceptor,
  CacheModule as CacheManagerModule,
} from '@nestjs/cache-manager';
import {
  Controller,
  Get,
  Header,
  Injectable,
  Module,
  Param,
  UseInterceptors,
  type CallHandler,
  type DynamicModule,
  type ExecutionContext,
  type NestInterceptor,
  type Type,
} from '@nestjs/common';
import { of, type Observable } from 'rxjs';
import { createKeyv } from '@keyv/redis';
import { createClient } from '@redis/client';
import { Redis } from 'ioredis';
import { CacheModule, Cached, type CacheModuleOptions } from 'nest-tiered-cache';
import { BIG_ITEM, ITEM, ORIGIN_MS, sleep, STAMPEDE_ORIGIN_MS } from './bodies.js';

/** Counts calls of the origin (the stampede scenario reads it over IPC). */
@Injectable()
export class OriginCounter {
  calls = 0;
}

@Controller()
class RawController {
  @Get('item/:id')
  item(@Param('id') _id: string) {
    return ITEM;
  }
}

/** The raw handler of the ~4 KB body: Nest serializes the object on every request. */
@Controller()
class RawBigController {
  @Get('item/:id')
  item(@Param('id') _id: string) {
    return BIG_ITEM;
  }
}

/** The ~4 KB body serialized once at startup: what a route costs without serializing it per request. */
const BIG_ITEM_JSON = JSON.stringify(BIG_ITEM);

@Controller()
class StringBigController {
  @Get('item/:id')
  @Header('Content-Type', 'application/json; charset=utf-8')
  item(@Param('id') _id: string) {
    return BIG_ITEM_JSON;
  }
}

/** Does nothing: what Nest's interceptor machinery alone costs a route (the floor of any interceptor cache). */
@Injectable()
class NoopInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle();
  }
}

/** `controller`'s routes behind `interceptor` (its route metadata is inherited). */
function behind(interceptor: Type<NestInterceptor>, controller: Type): Type {
  @Controller()
  @UseInterceptors(interceptor)
  class Behind extends controller {}
  return Behind;
}

const NoopInterceptorController = behind(NoopInterceptor, RawController);
const NoopInterceptorBigController = behind(NoopInterceptor, RawBigController);
/**
 * The ~4 KB body serialized once, behind the no-op interceptor: the floor of an interceptor cache
 * that answers stored bytes (no serialization, but Nest's interceptor pipeline).
 */
const NoopStringBigController = behind(NoopInterceptor, StringBigController);

const FLOOR_KEY = 'floor:item:1';

/**
 * The least an interceptor cache on Redis can do per hit: one `GET` of the stored JSON bytes and
 * an answer of those bytes (no entry header, no deadline, no counters, no key template). Its cost
 * over the raw handler is the floor of any Redis-backed interceptor cache on that client.
 * `client` opens the connection (and stores the route's bytes) and returns its `GET`. Fastify only
 * (it answers a Buffer, which Fastify sends as it is and Express would serialize).
 */
function floorInterceptor(
  client: () => (key: string) => Promise<Buffer | null>,
): Type<NestInterceptor> {
  @Injectable()
  class FloorInterceptor implements NestInterceptor {
    private readonly get = client();

    async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
      const bytes = await this.get(FLOOR_KEY);
      if (bytes === null) return next.handle();
      context
        .getArgByIndex<{ header(name: string, value: string): unknown }>(1)
        .header('content-type', 'application/json; charset=utf-8');
      return of(bytes);
    }
  }
  return FloorInterceptor;
}

function ioredisFloor(redisUrl: string): Type {
  const client = () => {
    const redis = new Redis(redisUrl, { enableAutoPipelining: true });
    void redis.set(FLOOR_KEY, JSON.stringify(ITEM));
    return (key: string) => redis.getBuffer(key);
  };
  return app(behind(floorInterceptor(client), RawController));
}

function nodeRedisFloor(redisUrl: string): Type {
  const client = () => {
    const redis = createClient({ url: redisUrl });
    const ready = redis.connect().then(() => redis.set(FLOOR_KEY, JSON.stringify(ITEM)));
    const bytes = redis.withTypeMapping({ 36: Buffer } as never);
    const get = (key: string) => bytes.get(key) as unknown as Promise<Buffer | null>;
    // Waits for the connection only until it is open: no promise step per request after that.
    return (key: string) => (redis.isReady ? get(key) : ready.then(() => get(key)));
  };
  return app(behind(floorInterceptor(client), RawController));
}

@Controller()
class OriginController {
  @Get('item/:id')
  async item(@Param('id') _id: string) {
    await sleep(ORIGIN_MS);
    return ITEM;
  }
}

@Controller()
@UseInterceptors(CacheManagerInterceptor)
class CacheManagerController {
  constructor(private readonly counter: OriginCounter) {}

  @Get('item/:id')
  async item(@Param('id') _id: string) {
    await sleep(ORIGIN_MS);
    return ITEM;
  }

  @Get('slow/:id')
  async slow(@Param('id') id: string) {
    this.counter.calls++;
    await sleep(STAMPEDE_ORIGIN_MS);
    return { ...ITEM, id };
  }
}

@Controller()
class TieredController {
  constructor(private readonly counter: OriginCounter) {}

  @Get('item/:id')
  @Cached({ key: 'item:{id}', ttl: '1h' })
  async item(@Param('id') _id: string) {
    await sleep(ORIGIN_MS);
    return ITEM;
  }

  @Get('slow/:id')
  @Cached({ key: 'slow:{id}', ttl: '1h' })
  async slow(@Param('id') id: string) {
    this.counter.calls++;
    await sleep(STAMPEDE_ORIGIN_MS);
    return { ...ITEM, id };
  }
}

@Controller()
class TieredBigController {
  @Get('item/:id')
  @Cached({ key: 'big:{id}', ttl: '1h' })
  async item(@Param('id') _id: string) {
    await sleep(ORIGIN_MS);
    return BIG_ITEM;
  }
}

const HOUR_MS = 3_600_000;

function app(controller: Type, imports: Array<DynamicModule | Type> = []): Type {
  @Module({ imports, controllers: [controller], providers: [OriginCounter] })
  class BenchAppModule {}
  return BenchAppModule;
}

function ours(options: CacheModuleOptions, controller: Type = TieredController): Type {
  return app(controller, [CacheModule.forRoot({ namespace: 'bench', ttl: '1h', ...options })]);
}

/** An HTTP contender: what the server runs, and whether it serves from a cache. */
export interface HttpContender {
  readonly label: string;
  readonly module: (redisUrl: string) => Type;
  /** Whether its answers should carry `X-Cache: HIT` once warm. */
  readonly xCache: boolean;
  /** The body it answers: the small constant (default) or the ~4 KB one. */
  readonly body?: 'small' | '4k';
  /** The contender its req/s are divided by, in the same round (default `raw`). */
  readonly baseline?: 'raw' | 'raw-4k';
  /** Its requests carry `If-None-Match` with the answer's ETag, and are answered `304`. */
  readonly conditional?: boolean;
}

/** Every HTTP contender, by id. */
export const HTTP_CONTENDERS = {
  raw: { label: 'raw Nest handler (ceiling)', module: () => app(RawController), xCache: false },
  noop: {
    label: 'raw handler + a no-op interceptor (interceptor floor)',
    module: () => app(NoopInterceptorController),
    xCache: false,
  },
  origin: {
    label: `uncached origin (${ORIGIN_MS} ms query)`,
    module: () => app(OriginController),
    xCache: false,
  },
  'cm-memory': {
    label: '@nestjs/cache-manager, memory',
    module: () => app(CacheManagerController, [CacheManagerModule.register({ ttl: HOUR_MS })]),
    xCache: false,
  },
  'cm-redis': {
    label: '@nestjs/cache-manager, Redis (Keyv)',
    module: (redisUrl) =>
      app(CacheManagerController, [
        CacheManagerModule.registerAsync({
          useFactory: () => ({ ttl: HOUR_MS, stores: [createKeyv(redisUrl)] }),
        }),
      ]),
    xCache: false,
  },
  'floor-ioredis': {
    label:
      'floor: a minimal interceptor answering the stored bytes from Redis (ioredis `getBuffer`)',
    module: ioredisFloor,
    xCache: false,
  },
  'floor-node-redis': {
    label: 'floor: a minimal interceptor answering the stored bytes from Redis (node-redis `get`)',
    module: nodeRedisFloor,
    xCache: false,
  },
  'ours-memory': {
    label: 'nest-tiered-cache, memory L1',
    module: () => ours({ local: { backend: 'memory' } }),
    xCache: true,
  },
  'ours-nos': {
    label: 'nest-tiered-cache, memory-no-serializer L1',
    module: () => ours({ local: { backend: 'memory-no-serializer' } }),
    xCache: true,
  },
  'ours-l1l2': {
    label: 'nest-tiered-cache, memory L1 + Redis L2 (L1 hit)',
    module: (redisUrl) =>
      ours({ local: { backend: 'memory' }, shared: { backend: 'redis', url: redisUrl } }),
    xCache: true,
  },
  'ours-redis': {
    label: 'nest-tiered-cache, Redis only (L2 hit)',
    module: (redisUrl) => ours({ shared: { backend: 'redis', url: redisUrl } }),
    xCache: true,
  },
  'raw-4k': {
    label: '4 KB body: raw Nest handler returning the object',
    module: () => app(RawBigController),
    xCache: false,
    body: '4k',
    baseline: 'raw-4k',
  },
  'string-4k': {
    label: '4 KB body: raw handler returning it pre-serialized (no serialization per request)',
    module: () => app(StringBigController),
    xCache: false,
    body: '4k',
    baseline: 'raw-4k',
  },
  'noop-4k': {
    label: '4 KB body: raw handler + a no-op interceptor (interceptor floor)',
    module: () => app(NoopInterceptorBigController),
    xCache: false,
    body: '4k',
    baseline: 'raw-4k',
  },
  'noop-string-4k': {
    label:
      '4 KB body: pre-serialized behind a no-op interceptor (floor of an interceptor cache answering bytes)',
    module: () => app(NoopStringBigController),
    xCache: false,
    body: '4k',
    baseline: 'raw-4k',
  },
  'ours-memory-4k': {
    label: '4 KB body: nest-tiered-cache, memory L1 hit',
    module: () => ours({ local: { backend: 'memory' } }, TieredBigController),
    xCache: true,
    body: '4k',
    baseline: 'raw-4k',
  },
  'ours-304': {
    label: '4 KB body: nest-tiered-cache, memory L1 hit, If-None-Match → 304',
    module: () => ours({ local: { backend: 'memory' } }, TieredBigController),
    xCache: true,
    body: '4k',
    baseline: 'raw-4k',
    conditional: true,
  },
} satisfies Record<string, HttpContender>;

/** The id of an HTTP contender. */
export type HttpContenderId = keyof typeof HTTP_CONTENDERS;
