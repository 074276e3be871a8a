import { describe, expect, it, jest } from '@jest/globals';
import { catchCacheError } from '../../test/test-cache.js';
import { CacheErrorCode } from '../cache.errors.js';
import { encodeKeyPart } from './key-encoding.js';
import {
  assertSafePath,
  compileTemplate,
  parseTemplate,
  pathGetter,
  type Placeholder,
} from './key-template.js';

const ph = (raw: string): Placeholder => ({ raw, path: raw.split('.') });

const malformed = (where: string, template: string, position: number) =>
  `${where}: malformed placeholder in key template "${template}" at position ${position} (use {name}, {0}, {name.path} or {name:int}; {{ and }} for literal braces)`;

describe('parseTemplate', () => {
  it('returns a template without placeholders as one literal', () => {
    expect(parseTemplate('users:all', 'W')).toEqual(['users:all']);
  });

  it('splits literals and placeholders, with dotted paths', () => {
    expect(parseTemplate('user:{id}:page:{query.page}', 'W')).toEqual([
      'user:',
      { raw: 'id', path: ['id'] },
      ':page:',
      { raw: 'query.page', path: ['query', 'page'] },
    ]);
  });

  it('emits no empty literals between, before or after placeholders', () => {
    expect(parseTemplate('{a}:{b}', 'W')).toEqual([
      { raw: 'a', path: ['a'] },
      ':',
      { raw: 'b', path: ['b'] },
    ]);
    expect(parseTemplate('{0}', 'W')).toEqual([{ raw: '0', path: ['0'] }]);
  });

  it('accepts digits, $, _ and - in names, and trims spaces around a name', () => {
    expect(parseTemplate('{0}:{$x}:{_y}:{header.x-tenant}', 'W')).toEqual([
      { raw: '0', path: ['0'] },
      ':',
      { raw: '$x', path: ['$x'] },
      ':',
      { raw: '_y', path: ['_y'] },
      ':',
      { raw: 'header.x-tenant', path: ['header', 'x-tenant'] },
    ]);
    expect(parseTemplate('k:{ id }', 'W')).toEqual(['k:', { raw: 'id', path: ['id'] }]);
  });

  it('reads a ? after the path as optional, before any type', () => {
    expect(parseTemplate('a:{user.id?}', 'W')).toEqual([
      'a:',
      { raw: 'user.id?', path: ['user', 'id'], optional: true },
    ]);
    expect(parseTemplate('{user.id?:int}', 'W')).toEqual([
      { raw: 'user.id?:int', path: ['user', 'id'], type: 'int', optional: true },
    ]);
    expect(parseTemplate('{ id? }', 'W')).toEqual([{ raw: 'id?', path: ['id'], optional: true }]);
  });

  it('reads {{ and }} as literal braces', () => {
    expect(parseTemplate('{{x}}', 'W')).toEqual(['{x}']);
    expect(parseTemplate('a{{b', 'W')).toEqual(['a{b']);
    expect(parseTemplate('a}}b', 'W')).toEqual(['a}b']);
    expect(parseTemplate('{{{id}}}', 'W')).toEqual(['{', { raw: 'id', path: ['id'] }, '}']);
    expect(parseTemplate('{{}}', 'W')).toEqual(['{}']);
  });

  it('rejects an empty or non-string template', () => {
    for (const template of ['', undefined, null, 42]) {
      const err = catchCacheError(() => parseTemplate(template as string, '@Cached on A.b key'));
      expect(err.code).toBe(CacheErrorCode.E_INVALID_TEMPLATE);
      expect(err.message).toBe('@Cached on A.b key: a key template must be a non-empty string');
    }
  });

  it('rejects an unclosed placeholder, naming where and the position', () => {
    const err = catchCacheError(() => parseTemplate('user:{id', '@Cached on A.b key'));
    expect(err.code).toBe(CacheErrorCode.E_INVALID_TEMPLATE);
    expect(err.message).toBe(malformed('@Cached on A.b key', 'user:{id', 5));
    expect(catchCacheError(() => parseTemplate('{', 'W')).message).toBe(malformed('W', '{', 0));
  });

  it('rejects an empty placeholder', () => {
    expect(catchCacheError(() => parseTemplate('a{}', 'W')).message).toBe(malformed('W', 'a{}', 1));
    expect(catchCacheError(() => parseTemplate('{ }', 'W')).message).toBe(malformed('W', '{ }', 0));
  });

  it.each([
    '{a b}',
    '{a..b}',
    '{.a}',
    '{a.}',
    '{a{b}',
    '{a:b:c}',
    '{a*}',
    '{a/b}',
    '{é}',
    '{:int}',
    '{?}',
    '{a??}',
    '{a.?b}',
    '{a:int?}',
    '{?a}',
  ])('rejects the malformed name %s', (template) => {
    const err = catchCacheError(() => parseTemplate(template, 'W'));
    expect(err.code).toBe(CacheErrorCode.E_INVALID_TEMPLATE);
    expect(err.message).toBe(malformed('W', template, 0));
  });

  it.each<[string, string, string, string]>([
    ['{a}{b}', 'a', 'b', 'any text'],
    ['{from}-{to}', 'from', 'to', '"-"'],
    ['x:{a}.{b}:y', 'a', 'b', '"."'],
    ['{a}:{b}{c:int}', 'b', 'c:int', 'any text'],
  ])('rejects %s, whose placeholders are not separated', (template, a, b, between) => {
    const err = catchCacheError(() => parseTemplate(template, 'W'));
    expect(err.code).toBe(CacheErrorCode.E_INVALID_TEMPLATE);
    expect(err.message).toBe(
      `W: key template "${template}" puts {${a}} and {${b}} side by side; separate them with ":" (their values may contain ${between}, so two different pairs could give one key)`,
    );
  });

  it('accepts placeholders separated by a character no value contains raw', () => {
    for (const template of ['{a}:{b}', '{a}-:-{b}', '{a} {b}', '{a}*{b}', '{a}{{x}}{b}', 'k{a}'])
      expect(() => parseTemplate(template, 'W')).not.toThrow();
  });

  it('rejects an unmatched }', () => {
    for (const template of ['a}b', '}', '{a}}', 'x}}}']) {
      const err = catchCacheError(() => parseTemplate(template, '@InvalidateCache on A.b keys'));
      expect(err.code).toBe(CacheErrorCode.E_INVALID_TEMPLATE);
      expect(err.message).toBe(
        `@InvalidateCache on A.b keys: unmatched "}" in key template "${template}" (use }} for a literal brace)`,
      );
    }
  });
});

describe('compileTemplate', () => {
  type Ctx = Record<string, unknown>;
  const bindField = (placeholder: Placeholder) => (ctx: Ctx) => ctx[placeholder.raw];

  it('returns a constant template as it is, without binding anything', () => {
    const bind = jest.fn(bindField);
    const resolve = compileTemplate<Ctx>(parseTemplate('users:all', 'W'), bind);
    expect(resolve({})).toBe('users:all');
    expect(resolve({ anything: 1 })).toBe('users:all');
    expect(bind).not.toHaveBeenCalled();
  });

  it('binds each placeholder once, at compile time', () => {
    const bind = jest.fn(bindField);
    const resolve = compileTemplate<Ctx>(parseTemplate('{a}:{b}', 'W'), bind);
    expect(bind).toHaveBeenCalledTimes(2);
    expect(bind.mock.calls.map(([p]) => p.raw)).toEqual(['a', 'b']);
    resolve({ a: 1, b: 2 });
    resolve({ a: 3, b: 4 });
    expect(bind).toHaveBeenCalledTimes(2);
  });

  it('substitutes several placeholders between literals', () => {
    const resolve = compileTemplate<Ctx>(parseTemplate('org:{org}:user:{id}:v{v}', 'W'), bindField);
    expect(resolve({ org: 'acme', id: 42, v: 2 })).toBe('org:acme:user:42:v2');
    expect(resolve({ org: 'x', id: 'y', v: 'z' })).toBe('org:x:user:y:vz');
  });

  it('resolves a template made of a single placeholder', () => {
    const resolve = compileTemplate<Ctx>(parseTemplate('{id}', 'W'), bindField);
    expect(resolve({ id: 'abc' })).toBe('abc');
    expect(resolve({ id: 7 })).toBe('7');
  });

  it('encodes every substituted value with encodeKeyPart', () => {
    const resolve = compileTemplate<Ctx>(parseTemplate('doc:{name}', 'W'), bindField);
    expect(resolve({ name: '*' })).toBe('doc:%2A');
    expect(resolve({ name: 'a:*' })).toBe('doc:a%3A%2A');
    expect(resolve({ name: 'x?[y]\\' })).toBe('doc:x%3F%5By%5D%5C');
    expect(resolve({ name: '50%' })).toBe('doc:50%25');
    expect(resolve({ name: 'a b' })).toBe('doc:a%20b');
    const long = 'x'.repeat(500);
    expect(resolve({ name: long })).toBe(`doc:${encodeKeyPart(long)}`);
    expect(resolve({ name: long })).toMatch(/^doc:#[A-Za-z0-9_-]{43}$/);
    const object = { id: 1, tags: ['a', 'b'] };
    expect(resolve({ name: object })).toBe(`doc:${encodeKeyPart(object)}`);
  });

  it('does not encode the literal parts', () => {
    const resolve = compileTemplate<Ctx>(parseTemplate('a:*:{x}:?', 'W'), bindField);
    expect(resolve({ x: '*' })).toBe('a:*:%2A:?');
  });

  it('substitutes nullish values of optional placeholders as encodeKeyPart does', () => {
    const resolve = compileTemplate<Ctx>(parseTemplate('k:{a}:{b}', 'W'), bindField);
    expect(resolve({ a: undefined, b: null })).toBe('k::!null');
    // typed: neither is the empty string or the string "null"
    expect(resolve({ a: '', b: 'null' })).toBe('k:!"":null');
  });

  it("returns undefined when a value is null or undefined and its binding says 'bypass'", () => {
    const resolve = compileTemplate<Ctx>(parseTemplate('me:{user}:{page}', 'W'), (placeholder) =>
      placeholder.raw === 'user'
        ? { get: bindField(placeholder), nullish: 'bypass' }
        : bindField(placeholder),
    );
    expect(resolve({ user: 'u1', page: 2 })).toBe('me:u1:2');
    expect(resolve({ user: undefined, page: 2 })).toBeUndefined();
    expect(resolve({ user: null, page: 2 })).toBeUndefined();
    expect(resolve({ page: 2 })).toBeUndefined();
    // falsy but present values are keys
    expect(resolve({ user: 0, page: 2 })).toBe('me:0:2');
    expect(resolve({ user: '', page: 2 })).toBe('me:!"":2');
    expect(resolve({ user: false, page: 2 })).toBe('me:false:2');
    // a placeholder without that rule may be nullish
    expect(resolve({ user: 'u1' })).toBe('me:u1:');
  });

  it('puts the key part a nullish binding gives, unescaped, or skips when it gives none', () => {
    const nullish = jest.fn((ctx: Ctx) => (ctx.anonymous === true ? '!anon' : undefined));
    const resolve = compileTemplate<Ctx>(parseTemplate('p:{v:int}:x', 'W'), () => ({
      get: (ctx: Ctx) => ctx.v,
      nullish,
    }));
    expect(resolve({ v: '07' })).toBe('p:7:x');
    expect(nullish).not.toHaveBeenCalled();
    expect(resolve({ anonymous: true })).toBe('p:!anon:x');
    expect(resolve({ v: null, anonymous: true })).toBe('p:!anon:x');
    expect(resolve({ anonymous: false })).toBeUndefined();
    expect(nullish).toHaveBeenCalledTimes(3);
    // a present value is still typed: no fallback for a value that is not of the type
    expect(resolve({ v: 'abc', anonymous: true })).toBeUndefined();
  });

  it('takes an encoded binding as it is, and skips when it gives no string', () => {
    const resolve = compileTemplate<Ctx>(parseTemplate('q:{raw}', 'W'), (placeholder) => ({
      get: bindField(placeholder),
      encoded: true,
    }));
    expect(resolve({ raw: 'a=1&b=%2A' })).toBe('q:a=1&b=%2A');
    expect(resolve({ raw: '' })).toBe('q:');
    expect(resolve({})).toBeUndefined();
    expect(resolve({ raw: 42 })).toBeUndefined();
  });

  it('propagates an error thrown by bind (at compile time)', () => {
    expect(() =>
      compileTemplate<Ctx>(parseTemplate('{a}', 'W'), () => {
        throw new Error('no such placeholder');
      }),
    ).toThrow('no such placeholder');
  });
});

describe('pathGetter', () => {
  type Ctx = { root: unknown };
  const root = (ctx: Ctx) => ctx.root;

  it('returns the root getter itself for an empty path', () => {
    expect(pathGetter(root, [])).toBe(root);
  });

  it('reads one field', () => {
    const get = pathGetter(root, ['id']);
    expect(get({ root: { id: 5 } })).toBe(5);
    expect(get({ root: {} })).toBeUndefined();
    expect(get({ root: null })).toBeUndefined();
    expect(get({ root: undefined })).toBeUndefined();
    expect(get({ root: 'abc' })).toBeUndefined();
    expect(pathGetter(root, ['length'])({ root: 'abc' })).toBe(3);
  });

  it('reads nested paths, array indexes included', () => {
    const get = pathGetter(root, ['a', 'b', 'c']);
    expect(get({ root: { a: { b: { c: 'deep' } } } })).toBe('deep');
    expect(get({ root: { a: { b: { c: 0 } } } })).toBe(0);
    expect(
      pathGetter(root, ['list', '1', 'id'])({ root: { list: [{ id: 'x' }, { id: 'y' }] } }),
    ).toBe('y');
  });

  it('gives undefined when something along the path is null or undefined', () => {
    const get = pathGetter(root, ['a', 'b', 'c']);
    expect(get({ root: { a: null } })).toBeUndefined();
    expect(get({ root: { a: { b: undefined } } })).toBeUndefined();
    expect(get({ root: { a: { b: null } } })).toBeUndefined();
    expect(get({ root: {} })).toBeUndefined();
    expect(get({ root: null })).toBeUndefined();
    expect(get({ root: undefined })).toBeUndefined();
  });

  it('keeps a null leaf as null', () => {
    expect(pathGetter(root, ['a', 'b'])({ root: { a: { b: null } } })).toBeNull();
  });

  it('reads getters declared on the prototype of class instances', () => {
    class Customer {
      constructor(
        private readonly first: string,
        private readonly last: string,
      ) {}
      get fullName(): string {
        return `${this.first} ${this.last}`;
      }
    }
    class Order {
      constructor(readonly customer: Customer) {}
      get ref(): string {
        return 'ref-1';
      }
    }
    const order = new Order(new Customer('Ada', 'Lovelace'));
    expect(Object.keys(order)).not.toContain('ref');
    expect(pathGetter(root, ['ref'])({ root: order })).toBe('ref-1');
    expect(pathGetter(root, ['customer', 'fullName'])({ root: order })).toBe('Ada Lovelace');
  });

  it('reads the root afresh on every call', () => {
    const get = pathGetter(root, ['a', 'b']);
    expect(get({ root: { a: { b: 1 } } })).toBe(1);
    expect(get({ root: { a: { b: 2 } } })).toBe(2);
  });
});

describe('assertSafePath', () => {
  it.each([
    '__proto__',
    'prototype',
    'constructor',
    'a.__proto__',
    'a.constructor.name',
    'user.prototype.x',
  ])('rejects {%s}', (raw) => {
    const err = catchCacheError(() => assertSafePath(ph(raw), '@Cached on A.b key'));
    expect(err.code).toBe(CacheErrorCode.E_INVALID_TEMPLATE);
    expect(err.message).toBe(
      `@Cached on A.b key: placeholder {${raw}} may not use __proto__, prototype or constructor`,
    );
  });

  it.each(['id', 'user.id', 'a.protos', 'constructors', 'a.Constructor', 'a.__proto', '0.x'])(
    'accepts {%s}',
    (raw) => {
      expect(() => assertSafePath(ph(raw), 'W')).not.toThrow();
    },
  );

  it('works with parsed placeholders', () => {
    const [placeholder] = parseTemplate('{dto.__proto__.x}', 'W') as [Placeholder];
    expect(() => assertSafePath(placeholder, 'W')).toThrow(
      'W: placeholder {dto.__proto__.x} may not use',
    );
  });
});
