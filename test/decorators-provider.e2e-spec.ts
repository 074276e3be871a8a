import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  Injectable,
  Module,
  Param,
  Scope,
  type INestApplicationContext,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  CacheModule,
  CacheService,
  Cached,
  getCacheToken,
  InvalidateCache,
} from 'nest-tiered-cache';
import { RecordingLogger } from '../libs/tiered-cache/test/test-cache.js';

interface OrderDto {
  id: number;
  customer: { id: string };
}

@Injectable()
class ProfileService {
  calls: string[] = [];

  @Cached({ key: 'profile:{userId}', ttl: 600, tags: ['profiles'] })
  async profile(userId: number) {
    this.calls.push(`profile:${userId}`);
    return { userId, version: this.calls.length };
  }

  @InvalidateCache({ keys: ['profile:{userId}'] })
  async rename(userId: number, name: string) {
    this.calls.push(`rename:${userId}:${name}`);
    return { userId, name };
  }

  @InvalidateCache({ keys: ['profile:{userId}'] })
  async failingRename(userId: number) {
    throw new Error(`cannot rename ${userId}`);
  }

  @Cached({ key: 'pos:{0}:{1}' })
  async byPosition(a: string, b: string) {
    this.calls.push(`pos:${a}:${b}`);
    return `${a}+${b}`;
  }

  @Cached({ key: 'order:{dto.id}:{dto.customer.id}' })
  async order(dto: OrderDto) {
    this.calls.push(`order:${dto.id}`);
    return { ...dto, total: 42 };
  }

  @Cached()
  async defaultKey(a: number, options: { deep: boolean }) {
    this.calls.push(`default:${a}:${options.deep}`);
    return a * 2;
  }

  @Cached({ key: 'doc:{name}' })
  async doc(name: string) {
    this.calls.push(`doc:${name}`);
    return name;
  }

  @InvalidateCache({ patterns: ['doc:{name}*'] })
  async dropDocs(name: string) {
    return name;
  }

  @Cached({ key: 'maybe:{id}' })
  async maybe(id: number) {
    this.calls.push(`maybe:${id}`);
    return null;
  }

  @Cached({ key: 'nullish:{id}', cacheNullish: true })
  async nullish(id: number) {
    this.calls.push(`nullish:${id}`);
    return null;
  }

  @Cached({ key: 'guild:{id}', cache: 'guild-config' })
  async guild(id: number) {
    this.calls.push(`guild:${id}`);
    return { id, auditLog: 1 };
  }

  count(prefix: string): number {
    return this.calls.filter((call) => call.startsWith(prefix)).length;
  }
}

@Module({
  imports: [
    CacheModule.forRoot({ isGlobal: true, namespace: 'svc' }),
    CacheModule.forFeature({ name: 'guild-config', ttl: '10m' }),
  ],
  providers: [ProfileService],
})
class AppModule {}

describe('@Cached and @InvalidateCache on provider methods', () => {
  let app: INestApplicationContext;
  let service: ProfileService;
  let cache: CacheService;
  let guilds: CacheService;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = await moduleRef.init();
    service = app.get(ProfileService);
    cache = app.get(CacheService);
    guilds = app.get<CacheService>(getCacheToken('guild-config'), { strict: false });
  });
  afterAll(async () => {
    await app.close();
  });

  it('caches by parameter name and invalidates after success', async () => {
    const first = await service.profile(1);
    expect(await service.profile(1)).toEqual(first);
    expect(service.count('profile:1')).toBe(1);
    expect(await cache.get('profile:1')).toEqual(first);
    await service.rename(1, 'Ada');
    expect(await cache.has('profile:1')).toBe(false);
    expect((await service.profile(1)).version).toBeGreaterThan(first.version);
    expect(service.count('profile:1')).toBe(2);
  });

  it('does not invalidate when the method throws', async () => {
    await service.profile(2);
    await expect(service.failingRename(2)).rejects.toThrow('cannot rename 2');
    expect(await cache.has('profile:2')).toBe(true);
  });

  it('keys by position and by a path into a parameter', async () => {
    expect(await service.byPosition('a', 'b')).toBe('a+b');
    await service.byPosition('a', 'b');
    expect(service.count('pos:a:b')).toBe(1);
    expect(await cache.get('pos:a:b')).toBe('a+b');

    await service.order({ id: 7, customer: { id: 'c1' } });
    await service.order({ id: 7, customer: { id: 'c1' } });
    await service.order({ id: 7, customer: { id: 'c2' } });
    expect(service.count('order:7')).toBe(2);
    expect(await cache.has('order:7:c1')).toBe(true);
  });

  it('keys a method without a template by class, method and arguments', async () => {
    expect(await service.defaultKey(3, { deep: true })).toBe(6);
    expect(await service.defaultKey(3, { deep: true })).toBe(6);
    expect(await service.defaultKey(3, { deep: false })).toBe(6);
    expect(service.count('default:3')).toBe(2);
  });

  it('escapes substituted values, so "*" invalidates only its own keys', async () => {
    await service.doc('*');
    await service.doc('readme');
    await service.dropDocs('*');
    await service.doc('readme');
    expect(service.count('doc:readme')).toBe(1);
    await service.doc('*');
    expect(service.count('doc:*')).toBe(2);
  });

  it('caches null only with cacheNullish', async () => {
    await service.maybe(1);
    await service.maybe(1);
    expect(service.count('maybe:1')).toBe(2);
    expect(await service.nullish(1)).toBeNull();
    expect(await service.nullish(1)).toBeNull();
    expect(service.count('nullish:1')).toBe(1);
  });

  it('uses a named cache', async () => {
    await service.guild(5);
    await service.guild(5);
    expect(service.count('guild:5')).toBe(1);
    expect(await guilds.get('guild:5')).toEqual({ id: 5, auditLog: 1 });
    expect(await guilds.ttl('guild:5')).toBeGreaterThan(9 * 60);
    expect(await cache.get('guild-config:guild:5')).toEqual({ id: 5, auditLog: 1 });
  });
});

describe('bootstrap checks of decorators', () => {
  const boot = async (providers: Function[], controllers: Function[] = [], extra: object = {}) => {
    const moduleRef = await Test.createTestingModule({
      imports: [CacheModule.forRoot({ isGlobal: true, ...extra })],
      providers: providers as never[],
      controllers: controllers as never[],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    try {
      await app.init();
    } finally {
      await app.close();
    }
  };

  it('names class, method, placeholder and what is available for a provider method', async () => {
    @Injectable()
    class BadService {
      @Cached({ key: 'user:{userID}' })
      async load(userId: number, { deep }: { deep: boolean }) {
        return { userId, deep };
      }
    }
    await expect(boot([BadService])).rejects.toThrow(
      /@Cached on BadService\.load key: key template "user:\{userID\}" names \{userID\}, which it does not have; available: \{userId\} or \{0\}, \{1\}/,
    );
  });

  it('names class, method, placeholder and what is available for a route', async () => {
    @Controller('bad')
    class BadController {
      @Get(':id')
      @Cached({ key: 'user:{idx}' })
      async findOne(@Param('id') id: string) {
        return id;
      }
    }
    await expect(boot([], [BadController])).rejects.toThrow(
      /@Cached on BadController\.findOne key: .*\{idx\}.*available: \{id\}, \{query\}, \{query\.\*\}/,
    );
  });

  it('rejects an unknown named cache and atomic writes without redis-atomic', async () => {
    @Injectable()
    class NamedService {
      @InvalidateCache({ keys: ['x'], cache: 'nope' })
      async run() {}
    }
    await expect(boot([NamedService])).rejects.toThrow(
      /@InvalidateCache on NamedService\.run: cache "nope" is not registered/,
    );

    @Injectable()
    class AtomicService {
      @Cached({ key: 'x', atomic: 'at-most-once' })
      async run() {}
    }
    await expect(boot([AtomicService])).rejects.toThrow(
      /@Cached on AtomicService\.run: atomic: 'at-most-once' needs a redis-atomic shared tier/,
    );
    await expect(boot([AtomicService], [], { enabled: false })).resolves.toBeUndefined();
  });

  it('reports a request-scoped provider whose methods it cannot wrap', async () => {
    @Injectable({ scope: Scope.REQUEST })
    class ScopedService {
      @Cached({ key: 'scoped' })
      async load() {
        return 1;
      }
    }
    const logger = new RecordingLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [CacheModule.forRoot({})],
      providers: [ScopedService],
    }).compile();
    const app = moduleRef.createNestApplication({ logger });
    await app.init();
    await app.close();
    expect(
      logger.matching(
        'warn',
        /ScopedService is request-scoped or transient: @Cached\/@InvalidateCache on load cannot be applied/,
      ),
    ).toHaveLength(1);
  });

  it('rejects bad options where the decorator is applied', () => {
    type Run = () => Promise<void>;
    const apply = (
      decorator: (target: object, key: string, descriptor: TypedPropertyDescriptor<Run>) => void,
    ) => {
      class Target {
        async run() {}
      }
      decorator(Target.prototype, 'run', Object.getOwnPropertyDescriptor(Target.prototype, 'run')!);
    };
    expect(() => apply(Cached({ ttl: -1 }))).toThrow(/"@Cached on Target\.run ttl"/);
    expect(() => apply(Cached({ key: 'user:{id' }))).toThrow(
      /@Cached on Target\.run key: malformed placeholder/,
    );
    expect(() => apply(Cached({ methods: ['FETCH'] }))).toThrow(
      /@Cached on Target\.run: invalid option "methods": "FETCH"/,
    );
    expect(() => apply(Cached({ ttl: 5, tll: 5 } as never))).toThrow(
      /invalid option "tll": unknown option/,
    );
    expect(() => apply(InvalidateCache({}))).toThrow(
      /@InvalidateCache on Target\.run: invalid option "keys": give at least one/,
    );
  });
});
