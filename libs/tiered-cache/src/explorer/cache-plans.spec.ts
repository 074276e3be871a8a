import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { StreamableFile } from '@nestjs/common';
import { catchCacheError } from '../../test/test-cache.js';
import { CacheErrorCode } from '../cache.errors.js';
import { cacheViewOf, type CacheService } from '../cache.service.js';
import { DEFAULT_LEASE_MS, type OriginPlan } from '../core/origin-plan.js';
import type { TieredCache } from '../core/tiered-cache.js';
import { encodeKeyPart } from '../keys/key-encoding.js';
import {
  parseTemplate,
  type Binding,
  type Getter,
  type Placeholder,
} from '../keys/key-template.js';
import { createTestCache } from '../../test/test-cache.js';
import {
  compileCachedPlan,
  compileInvalidatePlan,
  compileWith,
  defaultMethodKey,
  methodBinder,
  runInvalidation,
  type HttpRequestLike,
} from './cache-plans.js';
import { defaultRouteKey, routeBinder } from './route-keys.js';

const ph = (raw: string): Placeholder => {
  const [part] = parseTemplate(`{${raw}}`, 'test') as [Placeholder];
  return part;
};

function req(overrides: Partial<HttpRequestLike> = {}): HttpRequestLike {
  return { method: 'GET', url: '/', headers: {}, ...overrides };
}

/** The getter of what a binder bound (a bare getter, or a binding's). */
function getterOf<C>(bound: Getter<C> | Binding<C> | undefined): Getter<C> {
  expect(bound).toBeDefined();
  return typeof bound === 'function' ? bound : bound!.get;
}

const ROUTE_AVAILABLE = '{id}, {orgId}, {query}, {query.*}, {body.*}, {user.*}, {header.*}';

describe('methodBinder', () => {
  const binder = methodBinder(['id', undefined, 'options']);
  const args = [42, { from: 'destructured' }, { deep: { flag: true } }] as const;

  it('lists names and positions', () => {
    expect(binder.available).toBe('{id} or {0}, {1}, {options} or {2}');
    expect(methodBinder(['a']).available).toBe('{a} or {0}');
    expect(methodBinder([]).available).toBe('nothing (the method declares no parameters)');
  });

  it('binds parameters by name and by position', () => {
    expect(getterOf(binder.bind(ph('id')))(args)).toBe(42);
    expect(getterOf(binder.bind(ph('0')))(args)).toBe(42);
    expect(getterOf(binder.bind(ph('options')))(args)).toBe(args[2]);
    expect(getterOf(binder.bind(ph('2')))(args)).toBe(args[2]);
  });

  it('binds paths into parameters', () => {
    expect(getterOf(binder.bind(ph('options.deep.flag')))(args)).toBe(true);
    expect(getterOf(binder.bind(ph('2.deep.flag')))(args)).toBe(true);
    expect(getterOf(binder.bind(ph('1.from')))(args)).toBe('destructured');
    expect(getterOf(binder.bind(ph('options.missing.x')))(args)).toBeUndefined();
  });

  it('binds destructured parameters only by position', () => {
    expect(getterOf(binder.bind(ph('1')))(args)).toEqual({ from: 'destructured' });
    expect(binder.bind(ph('undefined'))).toBeUndefined();
  });

  it('refuses unknown names', () => {
    expect(binder.bind(ph('idx'))).toBeUndefined();
    expect(binder.bind(ph('-1'))).toBeUndefined();
    expect(binder.bind(ph('user.id'))).toBeUndefined();
    expect(methodBinder([]).bind(ph('id'))).toBeUndefined();
  });

  it('refuses positions past the declared parameters (a rest parameter is reached by a path: {others.1})', () => {
    const rest = methodBinder(['first', 'others']); // (first, ...others)
    expect(rest.bind(ph('2'))).toBeUndefined();
    expect(rest.bind(ph('5'))).toBeUndefined();
    expect(getterOf(rest.bind(ph('others.1')))(['a', ['b', 'c']])).toBe('c');
  });

  it('reads missing arguments as undefined', () => {
    expect(getterOf(binder.bind(ph('options.deep')))([1])).toBeUndefined();
    expect(getterOf(binder.bind(ph('id')))([])).toBeUndefined();
  });

  it('binds bare getters: nullish arguments are keyed, never a reason to skip', () => {
    for (const raw of ['id', '0', 'options.user'])
      expect(binder.bind(ph(raw))).toBeInstanceOf(Function);
  });

  it('never names the user', () => {
    expect(binder.credentials([ph('id'), ph('user.id'), ph('options.user')])).toEqual({
      namesUser: false,
    });
  });

  it('refuses optional placeholders: a provider method has no viewer', () => {
    expect(binder.refuse(ph('id'))).toBeUndefined();
    expect(binder.refuse(ph('id?'))).toBe(
      'a provider method has no viewer: only {user.*} placeholders of routes may be optional ({user.id?})',
    );
  });
});

describe('compileWith', () => {
  it('compiles a template against a binder', () => {
    const compiled = compileWith('user:{orgId}:{id}', routeBinder(['id', 'orgId']), 'W');
    expect(compiled.constant).toBe(false);
    expect(compiled.namesUser).toBe(false);
    expect(compiled.resolve(req({ params: { id: '1', orgId: 'a*' } }))).toBe('user:a%2A:1');
  });

  it('reports a constant template', () => {
    const compiled = compileWith('all-users', routeBinder([]), 'W');
    expect(compiled.constant).toBe(true);
    expect(compiled.resolve(req())).toBe('all-users');
  });

  it('reports a template naming the user', () => {
    expect(compileWith('me:{user.id}', routeBinder([]), 'W').namesUser).toBe(true);
    expect(compileWith('me:{user.id?}', routeBinder([]), 'W').namesUser).toBe(true);
    expect(compileWith('t:{header.authorization}', routeBinder([]), 'W').namesUser).toBe(true);
    // a header that is not a credential does not say who is asking
    expect(compileWith('t:{header.x-tenant}:{query.page}', routeBinder([]), 'W').namesUser).toBe(
      false,
    );
    expect(compileWith('t:{query.page}', routeBinder([]), 'W').namesUser).toBe(false);
  });

  it('names the template and the placeholder when the binder refuses it', () => {
    const err = catchCacheError(() =>
      compileWith('a:{id?}', routeBinder(['id']), '@Cached on ArticlesController.get key'),
    );
    expect(err.code).toBe(CacheErrorCode.E_INVALID_TEMPLATE);
    expect(err.message).toBe(
      '@Cached on ArticlesController.get key: key template "a:{id?}" names {id?}: only {user.*} placeholders may be optional: {user.id?} names the viewer when there is one, and a shared anonymous entry for requests without a user or credentials',
    );
  });

  it('skips the key when a user placeholder has no value', () => {
    const { resolve } = compileWith('me:{user.id}', routeBinder([]), 'W');
    expect(resolve(req({ user: { id: 'u1' } }))).toBe('me:u1');
    expect(resolve(req())).toBeUndefined();
    expect(resolve(req({ user: {} }))).toBeUndefined();
  });

  it('names the template, the placeholder and what is available when a placeholder is unknown', () => {
    const err = catchCacheError(() =>
      compileWith(
        'user:{idx}',
        routeBinder(['id', 'orgId']),
        '@Cached on UsersController.findOne key',
      ),
    );
    expect(err.code).toBe(CacheErrorCode.E_INVALID_TEMPLATE);
    expect(err.message).toBe(
      `@Cached on UsersController.findOne key: key template "user:{idx}" names {idx}, which it does not have; available: ${ROUTE_AVAILABLE}`,
    );
  });

  it('names a method binder`s parameters when a placeholder is unknown', () => {
    const err = catchCacheError(() =>
      compileWith('p:{dto.id}:{nope}', methodBinder(['dto']), '@Cached on Svc.find key'),
    );
    expect(err.message).toBe(
      '@Cached on Svc.find key: key template "p:{dto.id}:{nope}" names {nope}, which it does not have; available: {dto} or {0}',
    );
    const none = catchCacheError(() => compileWith('{0}:{a}', methodBinder([]), 'W'));
    expect(none.message).toBe(
      'W: key template "{0}:{a}" names {0}, which it does not have; available: nothing (the method declares no parameters)',
    );
  });

  it('refuses prototype paths before binding', () => {
    const binder = methodBinder(['dto']);
    const bind = jest.spyOn(binder, 'bind');
    const err = catchCacheError(() => compileWith('{dto.constructor}', binder, 'W'));
    expect(err.code).toBe(CacheErrorCode.E_INVALID_TEMPLATE);
    expect(err.message).toBe(
      'W: placeholder {dto.constructor} may not use __proto__, prototype or constructor',
    );
    expect(bind).not.toHaveBeenCalled();
  });

  it('passes malformed templates on as parse errors naming where', () => {
    const err = catchCacheError(() => compileWith('user:{', routeBinder([]), '@Cached on A.b key'));
    expect(err.code).toBe(CacheErrorCode.E_INVALID_TEMPLATE);
    expect(err.message).toMatch(
      /^@Cached on A\.b key: malformed placeholder in key template "user:\{"/,
    );
  });
});

describe('defaultMethodKey', () => {
  it('keys by class, method and the encoded arguments', () => {
    const key = defaultMethodKey('UsersService', 'find');
    expect(key([1, 'a'])).toBe('UsersService.find:!%5B1,"a"%5D');
    expect(key([])).toBe('UsersService.find:!%5B%5D');
    expect(key([{ q: '*' }])).toBe(`UsersService.find:${encodeKeyPart([{ q: '*' }])}`);
    expect(key([{ q: '*' }])).not.toContain('*');
  });

  it('gives different keys for different arguments, methods and classes', () => {
    const keys = new Set([
      defaultMethodKey('A', 'm')([1]),
      defaultMethodKey('A', 'm')([2]),
      defaultMethodKey('A', 'm')([1, 2]),
      defaultMethodKey('A', 'n')([1]),
      defaultMethodKey('B', 'm')([1]),
    ]);
    expect(keys.size).toBe(5);
  });

  it('hashes very long arguments', () => {
    expect(defaultMethodKey('A', 'm')(['x'.repeat(1000)])).toMatch(/^A\.m:#[A-Za-z0-9_-]{43}$/);
  });
});

describe('plans on a real cache', () => {
  let cache: CacheService;
  let engine: TieredCache;

  beforeEach(async () => {
    ({ cache, engine } = await createTestCache({ namespace: 'plans', ttl: '1m', grace: '5s' }));
  });

  afterEach(async () => {
    await engine.close();
  });

  const routeDefault = defaultRouteKey;

  describe('compileCachedPlan', () => {
    it('caches GET and HEAD by default, with the default key', () => {
      const plan = compileCachedPlan({}, cache, routeBinder([]), routeDefault, 'W');
      expect(plan.cache).toBe(cache);
      expect([...plan.methods].sort()).toEqual(['GET', 'HEAD']);
      expect(plan.key).toBe(routeDefault);
      expect(plan.sharedWithCredentials).toBe(false);
    });

    it('upper-cases the methods it is given', () => {
      const plan = compileCachedPlan(
        { methods: ['post', 'Put', 'GET'] },
        cache,
        routeBinder([]),
        routeDefault,
        'W',
      );
      expect([...plan.methods].sort()).toEqual(['GET', 'POST', 'PUT']);
      expect(plan.methods.has('HEAD')).toBe(false);
    });

    it('compiles the key template', () => {
      const plan = compileCachedPlan(
        { key: 'user:{id}' },
        cache,
        routeBinder(['id']),
        routeDefault,
        'W',
      );
      expect(plan.key(req({ params: { id: '*' } }))).toBe('user:%2A');
    });

    it('shares with credentials for scope public, or a key naming the user or a credential header', () => {
      const shared = (options: Parameters<typeof compileCachedPlan>[0]) =>
        compileCachedPlan(options, cache, routeBinder(['id']), routeDefault, 'W')
          .sharedWithCredentials;
      expect(shared({ scope: 'public' })).toBe(true);
      expect(shared({ scope: 'public', key: 'x:{id}' })).toBe(true);
      expect(shared({ key: 'me:{user.id}' })).toBe(true);
      expect(shared({ key: 'a:{id}:{user.id?}' })).toBe(true);
      expect(shared({ key: 't:{header.Authorization}:{id}' })).toBe(true);
      expect(shared({ key: 't:{header.cookie}:{id}' })).toBe(true);
      expect(shared({ key: 't:{header.X-Tenant}:{id}' })).toBe(false);
      expect(shared({ key: 't:{header.accept-language}:{id}' })).toBe(false);
      expect(shared({ key: 'x:{id}:{query.page}' })).toBe(false);
      expect(shared({ key: 'x:{id}:{query}' })).toBe(false);
      expect(shared({})).toBe(false);
      // a tag naming the user does not make the key per-user
      expect(shared({ key: 'x:{id}', tags: ['u:{user.id}'] })).toBe(false);
    });

    it('refuses, in the key, a request carrying a credential the key does not name', () => {
      const key = (template: string, scope?: 'public') =>
        compileCachedPlan(
          { key: template, ...(scope && { scope }) },
          cache,
          routeBinder([]),
          routeDefault,
          'W',
        ).key;
      const both = { authorization: 'Bearer t', cookie: 'sid=1' };
      const byToken = key('feed:{header.authorization}');
      expect(byToken(req({ headers: { authorization: 'Bearer t' } }))).toBe('feed:Bearer%20t');
      expect(byToken(req({ headers: both }))).toBeUndefined();
      expect(byToken(req({ headers: { cookie: 'sid=1' } }))).toBeUndefined(); // named header missing
      const bySession = key('feed:{header.cookie}');
      expect(bySession(req({ headers: { cookie: 'sid=1' } }))).toBe('feed:sid=1');
      expect(bySession(req({ headers: both }))).toBeUndefined();
      const byBoth = key('feed:{header.authorization}:{header.cookie}');
      expect(byBoth(req({ headers: both }))).toBe('feed:Bearer%20t:sid=1');
      // scope: 'public' shares whatever the credentials
      expect(key('feed:{header.authorization}', 'public')(req({ headers: both }))).toBe(
        'feed:Bearer%20t',
      );
      // a key naming the user leaves the decision to its user placeholders
      expect(key('me:{user.id}')(req({ headers: both, user: { id: 'u1' } }))).toBe('me:u1');
    });

    it('resolves durations and options against the cache defaults', () => {
      const defaults = compileCachedPlan({}, cache, routeBinder([]), routeDefault, 'W')
        .origin as OriginPlan;
      expect(defaults).toMatchObject({
        ttlMs: 60_000,
        graceMs: 5_000,
        tier: undefined,
        timeoutMs: undefined,
        atomic: undefined,
        leaseMs: DEFAULT_LEASE_MS,
        tags: [],
      });
      const custom = compileCachedPlan(
        {
          ttl: '10s',
          grace: 0,
          timeout: '250ms',
          lease: 3,
          tier: 'local',
          atomic: 'at-least-once',
        },
        cache,
        routeBinder([]),
        routeDefault,
        'W',
      ).origin as OriginPlan;
      expect(custom).toMatchObject({
        ttlMs: 10_000,
        graceMs: 0,
        timeoutMs: 250,
        leaseMs: 3_000,
        tier: 'local',
        atomic: 'at-least-once',
      });
    });

    it('names where a bad duration is', () => {
      const err = catchCacheError(() =>
        compileCachedPlan({ ttl: 0 }, cache, routeBinder([]), routeDefault, '@Cached on A.b'),
      );
      expect(err.code).toBe(CacheErrorCode.E_INVALID_DURATION);
      expect(err.message).toContain('@Cached on A.b ttl');
      expect(
        catchCacheError(() =>
          compileCachedPlan({ grace: 'soon' as never }, cache, routeBinder([]), routeDefault, 'X'),
        ).message,
      ).toContain('X grace');
    });

    it('names where a bad key or tag template is', () => {
      const key = catchCacheError(() =>
        compileCachedPlan(
          { key: 'x:{nope}' },
          cache,
          routeBinder([]),
          routeDefault,
          '@Cached on A.b',
        ),
      );
      expect(key.message).toMatch(/^@Cached on A\.b key: key template "x:\{nope\}" names \{nope\}/);
      const tag = catchCacheError(() =>
        compileCachedPlan(
          { tags: ['t:{nope}'] },
          cache,
          routeBinder([]),
          routeDefault,
          '@Cached on A.b',
        ),
      );
      expect(tag.message).toMatch(
        /^@Cached on A\.b tags: key template "t:\{nope\}" names \{nope\}/,
      );
    });

    it('resolves and namespaces static tags once, at compile time', () => {
      const view = cacheViewOf(cache);
      const fullTag = jest.spyOn(view, 'fullTag');
      const plan = compileCachedPlan(
        { tags: ['users', 'lists'] },
        cache,
        routeBinder([]),
        routeDefault,
        'W',
      );
      expect(typeof plan.origin).toBe('object');
      const origin = plan.origin as OriginPlan;
      expect(origin.tags).toEqual([view.fullTag('users'), view.fullTag('lists')]);
      expect(origin.tags).toEqual(['plans:users', 'plans:lists']);
      fullTag.mockClear();
      expect((plan.origin as OriginPlan).tags).toBe(origin.tags);
      expect(fullTag).not.toHaveBeenCalled();
    });

    it('resolves templated tags per context, dropping the ones that cannot be resolved', () => {
      const plan = compileCachedPlan(
        { tags: ['users', 'user:{id}', 'owner:{user.id}', '{query.group}'] },
        cache,
        routeBinder(['id']),
        routeDefault,
        'W',
      );
      expect(typeof plan.origin).toBe('function');
      const origin = plan.origin as (context: HttpRequestLike) => OriginPlan;
      expect(
        origin(req({ params: { id: '1' }, user: { id: 'u*' }, query: { group: 'g' } })).tags,
      ).toEqual(['plans:users', 'plans:user:1', 'plans:owner:u%2A', 'plans:g']);
      // no user: the user tag is undefined; no group: the tag is '' — both are dropped
      expect(origin(req({ params: { id: '2' } })).tags).toEqual(['plans:users', 'plans:user:2']);
      const resolved = origin(req({ params: { id: '3' } }));
      expect(resolved).toMatchObject({ ttlMs: 60_000, graceMs: 5_000, leaseMs: DEFAULT_LEASE_MS });
    });

    it('resolves method tags from the arguments', () => {
      const plan = compileCachedPlan(
        { tags: ['order:{dto.id}'] },
        cache,
        methodBinder(['dto']),
        defaultMethodKey('S', 'm'),
        'W',
      );
      const origin = plan.origin as (args: readonly unknown[]) => OriginPlan;
      expect(origin([{ id: 9 }]).tags).toEqual(['plans:order:9']);
      expect(plan.key([{ id: 9 }])).toBe(defaultMethodKey('S', 'm')([{ id: 9 }]));
    });

    it('stores neither null nor undefined unless cacheNullish, and never a StreamableFile', () => {
      const store = compileCachedPlan({}, cache, routeBinder([]), routeDefault, 'W').store;
      expect(store(null)).toBe(false);
      expect(store(undefined)).toBe(false);
      for (const value of [0, '', false, NaN, {}, [], 'x']) expect(store(value)).toBe(true);
      const file = new StreamableFile(Buffer.from('data'));
      expect(store(file)).toBe(false);

      const nullish = compileCachedPlan(
        { cacheNullish: true },
        cache,
        routeBinder([]),
        routeDefault,
        'W',
      ).store;
      expect(nullish(null)).toBe(true);
      expect(nullish(undefined)).toBe(true);
      expect(nullish(1)).toBe(true);
      expect(nullish(file)).toBe(false);

      const templated = compileCachedPlan(
        { tags: ['{id}'] },
        cache,
        routeBinder(['id']),
        routeDefault,
        'W',
      );
      expect(typeof templated.origin).toBe('function');
      expect(templated.store(null)).toBe(false);
      expect(templated.store(file)).toBe(false);
    });
  });

  describe('compileInvalidatePlan', () => {
    it('compiles keys, patterns and tags', () => {
      const plan = compileInvalidatePlan(
        { keys: ['user:{id}', 'users'], patterns: ['user:{id}:*'], tags: ['org:{orgId}'] },
        cache,
        routeBinder(['id', 'orgId']),
        'W',
      );
      const request = req({ params: { id: '*', orgId: 'a' } });
      expect(plan.cache).toBe(cache);
      expect(plan.keys.map((resolve) => resolve(request))).toEqual(['user:%2A', 'users']);
      expect(plan.patterns.map((resolve) => resolve(request))).toEqual(['user:%2A:*']);
      expect(plan.tags.map((resolve) => resolve(request))).toEqual(['org:a']);
    });

    it('compiles missing lists as empty', () => {
      const plan = compileInvalidatePlan({}, cache, routeBinder([]), 'W');
      expect(plan).toEqual({ cache, keys: [], patterns: [], tags: [] });
    });

    it('names the list holding a bad template', () => {
      const binder = methodBinder(['id']);
      expect(
        catchCacheError(() =>
          compileInvalidatePlan({ keys: ['{x}'] }, cache, binder, '@InvalidateCache on S.m'),
        ).message,
      ).toMatch(
        /^@InvalidateCache on S\.m keys: key template "\{x\}" names \{x\}, which it does not have; available: \{id\} or \{0\}$/,
      );
      expect(
        catchCacheError(() => compileInvalidatePlan({ patterns: ['{x}*'] }, cache, binder, 'L'))
          .message,
      ).toMatch(/^L patterns: /);
      expect(
        catchCacheError(() => compileInvalidatePlan({ tags: ['t:{'] }, cache, binder, 'L')).message,
      ).toMatch(/^L tags: malformed placeholder/);
    });
  });

  describe('runInvalidation', () => {
    async function seed(): Promise<void> {
      await cache.set('user:1', 'u1', { tags: ['org:a'] });
      await cache.set('user:2', 'u2', { tags: ['org:b'] });
      await cache.set('doc:a1', 'a1');
      await cache.set('doc:a2', 'a2');
      await cache.set('doc:b1', 'b1', { tags: ['org:a'] });
      await cache.set('doc:*', 'star');
      await cache.set('other', 'other', { tags: ['org:c'] });
    }

    async function present(): Promise<string[]> {
      const keys = ['user:1', 'user:2', 'doc:a1', 'doc:a2', 'doc:b1', 'doc:*', 'other'];
      const values = await cache.mget(keys);
      return keys.filter((_, i) => values[i] !== undefined);
    }

    it('deletes keys, patterns and tags resolved from the call, and nothing else', async () => {
      await seed();
      const plan = compileInvalidatePlan(
        { keys: ['user:{0}'], patterns: ['doc:{1}*'], tags: ['org:{2}'] },
        cache,
        methodBinder(['id', 'prefix', 'org']),
        'W',
      );
      await runInvalidation(plan, [2, 'a', 'c']);
      expect(await present()).toEqual(['user:1', 'doc:b1', 'doc:*']);
    });

    it('deletes by tag, whatever the key', async () => {
      await seed();
      const plan = compileInvalidatePlan(
        { tags: ['org:{orgId}'] },
        cache,
        routeBinder(['orgId']),
        'W',
      );
      await runInvalidation(plan, req({ params: { orgId: 'a' } }));
      expect(await present()).toEqual(['user:2', 'doc:a1', 'doc:a2', 'doc:*', 'other']);
    });

    it('deletes several keys and constant templates', async () => {
      await seed();
      const plan = compileInvalidatePlan(
        { keys: ['user:1', 'user:{id}', 'missing'] },
        cache,
        routeBinder(['id']),
        'W',
      );
      await runInvalidation(plan, req({ params: { id: '2' } }));
      expect(await present()).toEqual(['doc:a1', 'doc:a2', 'doc:b1', 'doc:*', 'other']);
    });

    it('cannot widen a pattern with a substituted value', async () => {
      await seed();
      const plan = compileInvalidatePlan(
        { patterns: ['doc:{name}'] },
        cache,
        methodBinder(['name']),
        'W',
      );
      await runInvalidation(plan, ['*']);
      // `*` became %2A: it matched no stored key (not even the literal "doc:*")
      expect(await present()).toEqual([
        'user:1',
        'user:2',
        'doc:a1',
        'doc:a2',
        'doc:b1',
        'doc:*',
        'other',
      ]);
    });

    it('skips what resolves to undefined or an empty string', async () => {
      await seed();
      const deleteSpy = jest.spyOn(cache, 'delete');
      const patternSpy = jest.spyOn(cache, 'deletePattern');
      const tagSpy = jest.spyOn(cache, 'deleteByTag');
      const plan = compileInvalidatePlan(
        {
          keys: ['{query.key}', 'u:{user.id}'],
          patterns: ['{query.pattern}'],
          tags: ['{query.tag}', 'owner:{user.id}'],
        },
        cache,
        routeBinder([]),
        'W',
      );
      await expect(runInvalidation(plan, req())).resolves.toBeUndefined();
      expect(deleteSpy).not.toHaveBeenCalled();
      expect(patternSpy).not.toHaveBeenCalled();
      expect(tagSpy).not.toHaveBeenCalled();
      expect(await present()).toHaveLength(7);
    });

    it('calls delete and deleteByTag once with every resolved value', async () => {
      await seed();
      const deleteSpy = jest.spyOn(cache, 'delete');
      const tagSpy = jest.spyOn(cache, 'deleteByTag');
      const patternSpy = jest.spyOn(cache, 'deletePattern');
      const plan = compileInvalidatePlan(
        {
          keys: ['user:{0}', 'doc:{1}'],
          patterns: ['doc:a*', 'doc:b*'],
          tags: ['org:{2}', 'org:c'],
        },
        cache,
        methodBinder(['a', 'b', 'c']),
        'W',
      );
      await runInvalidation(plan, [1, 'a1', 'b']);
      expect(deleteSpy).toHaveBeenCalledTimes(1);
      expect(deleteSpy).toHaveBeenCalledWith('user:1', 'doc:a1');
      expect(tagSpy).toHaveBeenCalledTimes(1);
      expect(tagSpy).toHaveBeenCalledWith('org:b', 'org:c');
      expect(patternSpy.mock.calls).toEqual([['doc:a*'], ['doc:b*']]);
      expect(await present()).toEqual(['doc:*']);
    });

    it('does nothing for an empty plan', async () => {
      await seed();
      await runInvalidation(compileInvalidatePlan({}, cache, routeBinder([]), 'W'), req());
      expect(await present()).toHaveLength(7);
    });
  });
});
