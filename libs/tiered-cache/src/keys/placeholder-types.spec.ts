import { describe, expect, it } from '@jest/globals';
import { catchCacheError } from '../../test/test-cache.js';
import { CacheErrorCode } from '../cache.errors.js';
import { compileTemplate, parseTemplate, type Placeholder } from './key-template.js';
import { isPlaceholderType, PLACEHOLDER_TYPES } from './placeholder-types.js';

type Ctx = Record<string, unknown>;
const bindField = (placeholder: Placeholder) => (ctx: Ctx) => ctx[placeholder.path[0]!];
const resolver = (template: string) =>
  compileTemplate<Ctx>(parseTemplate(template, 'W'), bindField);

describe('typed placeholders in templates', () => {
  it('parses {name:type} into the path and the type', () => {
    expect(parseTemplate('product:{id:int}:{query.ref:uuid}:{ slug:str }', 'W')).toEqual([
      'product:',
      { raw: 'id:int', path: ['id'], type: 'int' },
      ':',
      { raw: 'query.ref:uuid', path: ['query', 'ref'], type: 'uuid' },
      ':',
      { raw: 'slug:str', path: ['slug'], type: 'str' },
    ]);
  });

  it.each(['{a:b}', '{id:integer}', '{id:}', '{id:INT}', '{id:toString}', '{id:__proto__}'])(
    'rejects the unknown type in %s at bootstrap, naming it and the known types',
    (template) => {
      const err = catchCacheError(() => parseTemplate(`k:${template}`, '@Cached on A.b key'));
      expect(err.code).toBe(CacheErrorCode.E_INVALID_TEMPLATE);
      const type = template.slice(template.indexOf(':') + 1, -1);
      expect(err.message).toBe(
        `@Cached on A.b key: unknown type "${type}" in placeholder ${template} of key template "k:${template}"; known types: int, uuid, str`,
      );
    },
  );

  it('{id:int} gives every spelling of one integer the same key (aliases of /products/1)', () => {
    const key = resolver('product:{id:int}');
    for (const id of ['1', '01', '001', '0000000001', 1, 1n])
      expect({ id, key: key({ id }) }).toEqual({ id, key: 'product:1' });
    expect(key({ id: '-0' })).toBe('product:0');
    expect(key({ id: '000' })).toBe('product:0');
    expect(key({ id: -0 })).toBe('product:0');
    expect(key({ id: '-007' })).toBe('product:-7');
    expect(key({ id: '123456789012345678901234567890' })).toBe(
      'product:123456789012345678901234567890',
    );
  });

  it('{id:int} refuses what is not an integer: the call bypasses the cache', () => {
    const key = resolver('product:{id:int}');
    for (const id of ['', 'abc', '1.0', '1e3', '+1', ' 1', '1 ', '0x1', '１', '1,2', ['1'], 1.5])
      expect({ id, key: key({ id }) }).toEqual({ id, key: undefined });
    for (const id of [Number.NaN, Infinity, 2 ** 53, null, undefined, true, { id: 1 }])
      expect({ id, key: key({ id }) }).toEqual({ id, key: undefined });
  });

  it('{id:uuid} lower-cases a UUID and refuses anything else', () => {
    const key = resolver('o:{id:uuid}');
    const id = '123e4567-e89b-12d3-a456-426614174000';
    expect(key({ id })).toBe(`o:${id}`);
    expect(key({ id: id.toUpperCase() })).toBe(`o:${id}`);
    for (const bad of [`{${id}}`, id.replace(/-/g, ''), `${id} `, `${id}0`, 'x', 1, [id]])
      expect({ bad, key: key({ id: bad }) }).toEqual({ bad, key: undefined });
  });

  it('{q:str} takes a string only: a repeated query value (an array) bypasses the cache', () => {
    const key = resolver('s:{q:str}');
    expect(key({ q: 'red shoes' })).toBe('s:red%20shoes');
    expect(key({ q: '["red","shoes"]' })).toBe('s:%5B"red","shoes"%5D');
    expect(key({ q: ['red', 'shoes'] })).toBeUndefined();
    expect(key({ q: { a: 'b' } })).toBeUndefined();
    expect(key({ q: 1 })).toBeUndefined();
  });

  it('a typed value is escaped and bounded like any other', () => {
    const key = resolver('s:{q:str}');
    expect(key({ q: 'a:*' })).toBe('s:a%3A%2A');
    expect(key({ q: 'x'.repeat(500) })).toMatch(/^s:#[\w-]{43}$/);
    expect(resolver('p:{id:int}')({ id: '1'.repeat(500) })).toMatch(/^p:#[\w-]{43}$/);
  });

  it('the canonical int of a route string and a method number name one entry', () => {
    expect(resolver('product:{id:int}')({ id: '042' })).toBe(resolver('product:{id}')({ id: 42 }));
  });

  it('knows exactly the documented types', () => {
    expect(Object.keys(PLACEHOLDER_TYPES)).toEqual(['int', 'uuid', 'str']);
    expect(isPlaceholderType('int')).toBe(true);
    expect(isPlaceholderType('constructor')).toBe(false);
    expect(isPlaceholderType('hasOwnProperty')).toBe(false);
  });
});

describe('template resolvers fail open', () => {
  it('give undefined, never throw, for a cyclic value (an ORM entity with a back-reference)', () => {
    const entity: Record<string, unknown> = { id: 1 };
    entity.owner = { entity };
    expect(resolver('e:{v}')({ v: entity })).toBeUndefined();
  });

  it('give undefined for a function or a symbol', () => {
    expect(resolver('e:{v}')({ v: () => 1 })).toBeUndefined();
    expect(resolver('e:{v}')({ v: Symbol('s') })).toBeUndefined();
  });

  it('give undefined when a getter throws', () => {
    const key = compileTemplate<Ctx>(parseTemplate('e:{v}', 'W'), () => () => {
      throw new Error('boom');
    });
    expect(key({})).toBeUndefined();
    const value = {
      get x(): number {
        throw new Error('boom');
      },
    };
    expect(resolver('e:{v}')({ v: value })).toBeUndefined();
  });

  it('give undefined rather than an empty key', () => {
    expect(resolver('{v}')({})).toBeUndefined();
    expect(resolver('{v}')({ v: '' })).toBe('!""'); // the empty string is not an absent value
    expect(resolver('{v}')({ v: 'a' })).toBe('a');
  });
});
