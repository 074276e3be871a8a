import {
  CacheInterceptor as CacheManagerInterceptor,
  CacheModule as CacheManagerModule,
} from '@nestjs/cache-manager';
import {
  Controller,
  Get,
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
import type { Observable } from 'rxjs';
import { createKeyv } from '@keyv/redis';
import { CacheModule, Cached, type CacheModuleOptions } from 'nest-tiered-cache';
import { ITEM, ORIGIN_MS, sleep, STAMPEDE_ORIGIN_MS } from './bodies.js';

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

/** Does nothing: what Nest's interceptor machinery alone costs a route (the floor of any interceptor cache). */
@Injectable()
class NoopInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle();
  }
}

@Controller()
@UseInterceptors(NoopInterceptor)
class NoopInterceptorController {
  @Get('item/:id')
  item(@Param('id') _id: string) {
    return ITEM;
  }
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

const HOUR_MS = 3_600_000;

function app(controller: Type, imports: Array<DynamicModule | Type> = []): Type {
  @Module({ imports, controllers: [controller], providers: [OriginCounter] })
  class BenchAppModule {}
  return BenchAppModule;
}

function ours(options: CacheModuleOptions): Type {
  return app(TieredController, [
    CacheModule.forRoot({ namespace: 'bench', ttl: '1h', ...options }),
  ]);
}

/** An HTTP contender: what the server runs, and whether it serves from a cache. */
export interface HttpContender {
  readonly label: string;
  readonly module: (redisUrl: string) => Type;
  /** Whether its answers should carry `X-Cache: HIT` once warm. */
  readonly xCache: boolean;
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
} satisfies Record<string, HttpContender>;

/** The id of an HTTP contender. */
export type HttpContenderId = keyof typeof HTTP_CONTENDERS;
