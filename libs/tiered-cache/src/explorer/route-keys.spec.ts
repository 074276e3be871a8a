import { describe, expect, it } from '@jest/globals';
import { catchCacheError } from '../../test/test-cache.js';
import { CacheErrorCode } from '../cache.errors.js';
import { encodeKeyPart } from '../keys/key-encoding.js';
import {
  parseTemplate,
  type Binding,
  type Getter,
  type Placeholder,
} from '../keys/key-template.js';
import { compileWith, type HttpRequestLike } from './cache-plans.js';
import { ANONYMOUS_VIEWER, defaultRouteKey, hasCredentials, routeBinder } from './route-keys.js';

const ph = (raw: string): Placeholder => {
  const [part] = parseTemplate(`{${raw}}`, 'test') as [Placeholder];
  return part;
};

function req(overrides: Partial<HttpRequestLike> = {}): HttpRequestLike {
  return { method: 'GET', url: '/', headers: {}, ...overrides };
}

function bindingOf(
  bound: Getter<HttpRequestLike> | Binding<HttpRequestLike> | undefined,
): Binding<HttpRequestLike> {
  expect(bound).toBeDefined();
  return typeof bound === 'function' ? { get: bound } : bound!;
}

const ROUTE_AVAILABLE = '{id}, {orgId}, {query}, {query.*}, {body.*}, {user.*}, {header.*}';

describe('routeBinder', () => {
  const binder = routeBinder(['id', 'orgId']);
  const request = req({
    params: { id: '7', orgId: 'acme' },
    query: { page: '2', filter: { status: 'open' } },
    body: { name: 'Ada', nested: { list: [10, 20] } },
    user: { id: 'u1', roles: ['admin'] },
    headers: { 'x-tenant': 't1', authorization: 'Bearer x' },
  });
  const read = (raw: string, from = request) => bindingOf(binder.bind(ph(raw))).get(from);

  it('lists what is available', () => {
    expect(binder.available).toBe(ROUTE_AVAILABLE);
    expect(routeBinder([]).available).toBe('{query}, {query.*}, {body.*}, {user.*}, {header.*}');
    expect(routeBinder(['query']).available).toBe(
      '{query}, {query.*}, {body.*}, {user.*}, {header.*}',
    );
  });

  it('binds route params by bare name and as params.x', () => {
    expect(read('id')).toBe('7');
    expect(read('orgId')).toBe('acme');
    expect(read('params.id')).toBe('7');
    expect(read('params.orgId')).toBe('acme');
  });

  it('refuses names that are not route params', () => {
    expect(binder.bind(ph('idx'))).toBeUndefined();
    expect(binder.bind(ph('params.idx'))).toBeUndefined();
    expect(binder.bind(ph('page'))).toBeUndefined();
    // a bare source name is not a route param either ({query} is the whole query)
    expect(binder.bind(ph('user'))).toBeUndefined();
    expect(binder.bind(ph('header'))).toBeUndefined();
    expect(binder.bind(ph('body'))).toBeUndefined();
  });

  it('binds query, body and user paths', () => {
    expect(read('query.page')).toBe('2');
    expect(read('query.filter.status')).toBe('open');
    expect(read('query.missing')).toBeUndefined();
    expect(read('body.name')).toBe('Ada');
    expect(read('body.nested.list.1')).toBe(20);
    expect(read('user.id')).toBe('u1');
    expect(read('user.roles.0')).toBe('admin');
  });

  it('reads sources that are absent as undefined', () => {
    for (const raw of ['query.page', 'body.name', 'user.id', 'id', 'header.x-tenant'])
      expect(read(raw, req())).toBeUndefined();
  });

  it('binds one header, by its lower-cased name', () => {
    expect(read('header.X-Tenant')).toBe('t1');
    expect(read('header.x-tenant')).toBe('t1');
    expect(read('header.Authorization')).toBe('Bearer x');
    expect(binder.bind(ph('header.x-tenant.length'))).toBeUndefined();
  });

  it('refuses unknown heads', () => {
    for (const raw of ['cookies.sid', 'session.id', 'request.url', 'headers.x-tenant', 'id2.x']) {
      expect(binder.bind(ph(raw))).toBeUndefined();
    }
  });

  it('skips the cache when a user.* or header.* value is missing; other values are keyed', () => {
    for (const raw of ['user.id', 'user.profile.email', 'header.x-tenant'])
      expect(bindingOf(binder.bind(ph(raw))).nullish).toBe('bypass');
    for (const raw of ['id', 'params.id', 'query.page', 'body.name'])
      expect(bindingOf(binder.bind(ph(raw))).nullish).toBeUndefined();
  });

  it('binds a route param named like a source when the route has one', () => {
    const withUserParam = routeBinder(['user']);
    const get = bindingOf(withUserParam.bind(ph('user'))).get;
    expect(get(req({ params: { user: 'p' }, user: { id: 'u' } }))).toBe('p');
  });

  it('binds {query} to the whole query, already encoded', () => {
    const binding = bindingOf(binder.bind(ph('query')));
    expect(binding.encoded).toBe(true);
    expect(binding.get(req({ query: { tag: 'a*', author: 'jake' } }))).toBe('author=jake&tag=a%2A');
    expect(binding.get(req())).toBe('');
  });

  it('refuses an optional placeholder that is not user.*, and a typed {query}', () => {
    const optional =
      'only {user.*} placeholders may be optional: {user.id?} names the viewer when there is one, and a shared anonymous entry for requests without a user or credentials';
    for (const raw of ['id?', 'query.page?', 'header.authorization?', 'body.x?', 'query?'])
      expect(binder.refuse(ph(raw))).toBe(optional);
    expect(routeBinder(['user']).refuse(ph('user?'))).toBe(optional);
    expect(binder.refuse(ph('query:int'))).toBe(
      '{query} is the whole query string and takes no type; type one value instead ({query.page:int})',
    );
    for (const raw of ['user.id?', 'user.id?:int', 'query', 'query.page:int', 'id:int'])
      expect(binder.refuse(ph(raw))).toBeUndefined();
  });

  it('refuses {query} on a route with a :query param, where it would be ambiguous', () => {
    const search = routeBinder(['query']);
    expect(search.refuse(ph('query'))).toBe(
      'the route has a :query param, so {query} could mean it or the whole query string; write {params.query} for the param (rename the param to key by the whole query)',
    );
    expect(search.refuse(ph('params.query'))).toBeUndefined();
    expect(bindingOf(search.bind(ph('params.query'))).get(req({ params: { query: 'q' } }))).toBe(
      'q',
    );
  });
});

describe('hasCredentials', () => {
  it('is true with Authorization or a cookie, even empty', () => {
    expect(hasCredentials(req({ headers: { authorization: 'Bearer t' } }))).toBe(true);
    expect(hasCredentials(req({ headers: { cookie: 'sid=1' } }))).toBe(true);
    expect(hasCredentials(req({ headers: { cookie: '' } }))).toBe(true);
    expect(hasCredentials(req({ headers: { 'x-api-key': 'k', 'accept-language': 'fr' } }))).toBe(
      false,
    );
  });
});

describe('credential rule of route keys', () => {
  const rule = (template: string) => {
    const { namesUser, admits } = compileWith(template, routeBinder(['slug']), 'W');
    return { namesUser, admits };
  };
  const withAuth = req({ headers: { authorization: 'Bearer t' } });
  const withCookie = req({ headers: { cookie: 'sid=1' } });
  const withBoth = req({ headers: { authorization: 'Bearer t', cookie: 'sid=1' } });

  it('lets a key naming the user decide per request through its user placeholders', () => {
    for (const template of ['me:{user.id}', 'a:{slug}:{user.id?}', 'x:{user.profile.name}'])
      expect(rule(template)).toStrictEqual({ namesUser: true, admits: undefined });
  });

  it('does not count other header placeholders as naming the user', () => {
    for (const template of [
      'a:{header.accept-language}',
      'a:{header.x-tenant}:{slug}',
      'a:{header.proxy-authorization}',
      'a:{query}:{body.user}',
    ])
      expect(rule(template)).toStrictEqual({ namesUser: false, admits: undefined });
  });

  it('admits to a key naming one credential header only requests without the other', () => {
    const byToken = rule('a:{header.Authorization}');
    expect(byToken.namesUser).toBe(true);
    expect(byToken.admits!(withAuth)).toBe(true);
    expect(byToken.admits!(withBoth)).toBe(false);
    expect(byToken.admits!(req())).toBe(true);
    const bySession = rule('a:{header.cookie}:{header.accept-language}');
    expect(bySession.admits!(withCookie)).toBe(true);
    expect(bySession.admits!(withBoth)).toBe(false);
    expect(rule('a:{header.authorization}:{header.cookie}')).toStrictEqual({
      namesUser: true,
      admits: undefined,
    });
  });
});

describe('the optional viewer {user.x?}', () => {
  const { resolve } = compileWith('profile:{slug}:{user.id?}', routeBinder(['slug']), 'W');
  const at = (overrides: Partial<HttpRequestLike>) =>
    resolve(req({ params: { slug: 'jake' }, ...overrides }));

  it('keys a request with a user by that user', () => {
    expect(at({ user: { id: 'u1' } })).toBe('profile:jake:u1');
    expect(at({ user: { id: 42 }, headers: { authorization: 'Bearer t' } })).toBe(
      'profile:jake:42',
    );
    expect(at({ user: { id: '*' }, headers: { cookie: 'sid=1' } })).toBe('profile:jake:%2A');
  });

  it('gives a request with neither user nor credentials the shared anonymous entry', () => {
    expect(at({})).toBe(`profile:jake:${ANONYMOUS_VIEWER}`);
    expect(at({ user: null })).toBe(`profile:jake:${ANONYMOUS_VIEWER}`);
    expect(at({ user: false })).toBe(`profile:jake:${ANONYMOUS_VIEWER}`); // passport's "no user"
    expect(at({ headers: { 'accept-language': 'fr', 'x-api-key': 'k' } })).toBe(
      `profile:jake:${ANONYMOUS_VIEWER}`,
    );
  });

  it('never gives a request that carries credentials but has no user the anonymous entry', () => {
    expect(at({ headers: { authorization: 'Bearer unknown' } })).toBeUndefined();
    expect(at({ headers: { cookie: 'sid=1' } })).toBeUndefined();
    expect(at({ headers: { authorization: '' } })).toBeUndefined();
    expect(at({ user: false, headers: { authorization: 'Bearer t' } })).toBeUndefined();
  });

  it('skips the cache for a user without the field, rather than share the anonymous entry', () => {
    expect(at({ user: {} })).toBeUndefined();
    expect(at({ user: { id: null } })).toBeUndefined();
    expect(at({ user: 'someone' })).toBeUndefined();
  });

  it('cannot be spelled by any user id', () => {
    const ids: unknown[] = [
      '!anonymous',
      'anonymous',
      '',
      '%21anonymous',
      ['anonymous'],
      { anonymous: true },
    ];
    class anonymous {}
    ids.push(new anonymous());
    for (const id of ids) expect(at({ user: { id } })).not.toBe(`profile:jake:${ANONYMOUS_VIEWER}`);
    expect(encodeKeyPart('!anonymous')).toBe('%21anonymous');
  });

  it('keeps its type: a user whose id is not of the type skips the cache', () => {
    const typed = compileWith('p:{user.id?:int}', routeBinder([]), 'W').resolve;
    expect(typed(req({ user: { id: '007' } }))).toBe('p:7');
    expect(typed(req({ user: { id: 'abc' } }))).toBeUndefined();
    expect(typed(req())).toBe(`p:${ANONYMOUS_VIEWER}`);
  });

  it('still requires the user for the placeholders that are not optional', () => {
    const mixed = compileWith('p:{user.id?}:{user.locale}', routeBinder([]), 'W').resolve;
    expect(mixed(req({ user: { id: 'u1', locale: 'fr' } }))).toBe('p:u1:fr');
    expect(mixed(req())).toBeUndefined();
  });

  it('names class, method and placeholder when misused', () => {
    const err = catchCacheError(() =>
      compileWith('a:{slug?}', routeBinder(['slug']), '@Cached on ArticlesController.get key'),
    );
    expect(err.code).toBe(CacheErrorCode.E_INVALID_TEMPLATE);
    expect(err.message).toMatch(
      /^@Cached on ArticlesController\.get key: key template "a:\{slug\?\}" names \{slug\?\}: only \{user\.\*\} placeholders may be optional/,
    );
  });
});

describe('defaultRouteKey', () => {
  it('keys by the path when there is no query', () => {
    expect(defaultRouteKey(req({ url: '/users/7' }))).toBe('http:/users/7');
    expect(defaultRouteKey(req({ url: '/users/7', query: {} }))).toBe('http:/users/7');
    expect(
      defaultRouteKey(req({ url: '/users/7', query: null as unknown as Record<string, unknown> })),
    ).toBe('http:/users/7');
  });

  it('keys by the path and the query sorted by name, as {query}', () => {
    const key = defaultRouteKey(req({ url: '/users?b=2&a=1', query: { b: '2', a: '1' } }));
    expect(key).toBe('http:/users?a=1&b=2');
    const query = { tag: ['x', 'y'], limit: '20' };
    const whole = compileWith('{query}', routeBinder([]), 'W').resolve(req({ query }));
    expect(defaultRouteKey(req({ url: '/articles', query }))).toBe(`http:/articles?${whole}`);
  });

  it('gives the same key for the same query in another order', () => {
    const one = defaultRouteKey(req({ url: '/s?a=1&b=2&c=x', query: { a: '1', b: '2', c: 'x' } }));
    const two = defaultRouteKey(req({ url: '/s?c=x&b=2&a=1', query: { c: 'x', b: '2', a: '1' } }));
    expect(one).toBe(two);
  });

  it('gives different keys for different queries and paths', () => {
    const keys = new Set([
      defaultRouteKey(req({ url: '/s?a=1', query: { a: '1' } })),
      defaultRouteKey(req({ url: '/s?a=2', query: { a: '2' } })),
      defaultRouteKey(req({ url: '/s?a=1&a=2', query: { a: ['1', '2'] } })),
      defaultRouteKey(req({ url: '/s?b=1', query: { b: '1' } })),
      defaultRouteKey(req({ url: '/t?a=1', query: { a: '1' } })),
      defaultRouteKey(req({ url: '/s' })),
      defaultRouteKey(req({ url: '/s?a=', query: { a: '' } })),
    ]);
    expect(keys.size).toBe(7);
  });

  it('takes the query from req.query, not from the url', () => {
    expect(defaultRouteKey(req({ url: '/s?ignored=1' }))).toBe('http:/s');
  });

  it('prefers originalUrl over url', () => {
    expect(defaultRouteKey(req({ url: '/7', originalUrl: '/api/users/7' }))).toBe(
      'http:/api/users/7',
    );
    expect(
      defaultRouteKey(req({ url: '/7?x=1', originalUrl: '/api/users/7?x=1', query: { x: '1' } })),
    ).toBe('http:/api/users/7?x=1');
  });

  it('encodes the path so that no glob metacharacter or separator comes from it', () => {
    const key = defaultRouteKey(req({ url: '/files/*/a:b/[x]/\\?q=1', query: { q: '*' } }));
    expect(key).toBe('http:/files/%2A/a%3Ab/%5Bx%5D/%5C?q=%2A');
    const [path, query] = key!.slice('http:'.length).split('?') as [string, string];
    expect(path).not.toMatch(/[*?[\]\\:]/);
    expect(query).not.toMatch(/[*?[\]\\:]/);
    expect(key!.split('?')).toHaveLength(2);
  });

  it('cannot let a path pose as a path with a query', () => {
    const withQuery = defaultRouteKey(req({ url: '/a?x=1', query: { x: '1' } }));
    const encodedQuestionMark = defaultRouteKey(req({ url: '/a%3Fx=1' }));
    expect(withQuery).not.toBe(encodedQuestionMark);
  });

  it('keys by the route the router matched and its decoded params (issue 13, sibling of point 4)', () => {
    const express = (url: string, id: string) =>
      defaultRouteKey({
        ...req({ url, params: { id } }),
        route: { path: '/api/items/:id' },
      } as never);
    const fastify = (url: string, id: string) =>
      defaultRouteKey({
        ...req({ url, params: { id } }),
        routeOptions: { url: '/api/items/:id' },
      } as never);
    for (const key of [
      express('/api/items/1', '1'),
      express('/api/ITEMS/%31/', '1'),
      fastify('/api/items/%31', '1'),
    ])
      expect(key).toBe('http:/api/items/1');
    // A "/" inside a value never poses as a separator; glob characters are escaped as in {id}.
    expect(express('/api/items/a%2Fb', 'a/b')).toBe('http:/api/items/a%2Fb');
    expect(express('/api/items/a%252Fb', 'a%2Fb')).toBe('http:/api/items/a%252Fb');
    expect(express('/api/items/*', '*')).toBe('http:/api/items/%2A');
  });

  it('falls back to the decoded path without a plain route pattern, and skips malformed encoding', () => {
    const wildcard = { route: { path: '/files/*path' } };
    expect(defaultRouteKey({ ...req({ url: '/files/a%20b/c' }), ...wildcard } as never)).toBe(
      'http:/files/a%20b/c',
    );
    expect(defaultRouteKey(req({ url: '/files/%61' }))).toBe('http:/files/a');
    expect(defaultRouteKey(req({ url: '/files/a%2Fb' }))).toBe('http:/files/a%2Fb');
    expect(defaultRouteKey(req({ url: '/files/a/b' }))).toBe('http:/files/a/b');
    expect(defaultRouteKey(req({ url: '/files/%zz' }))).toBeUndefined();
    expect(defaultRouteKey(req({ url: '/files/%E0%A4%A' }))).toBeUndefined();
  });

  it('skips the cache for a query that cannot be keyed', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(defaultRouteKey(req({ url: '/s', query: { f: cycle } }))).toBeUndefined();
  });
});
