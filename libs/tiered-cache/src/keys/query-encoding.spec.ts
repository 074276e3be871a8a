import { describe, expect, it } from '@jest/globals';
import { parse as parseQueryString } from 'node:querystring';
import { globToRegExp } from './glob.js';
import { encodeKeyPart } from './key-encoding.js';
import { encodeQuery } from './query-encoding.js';

/** The query as Fastify and Express's simple parser give it (node:querystring), then encoded. */
const simple = (search: string) => encodeQuery(parseQueryString(search));

describe('encodeQuery', () => {
  it('is empty for no query', () => {
    expect(encodeQuery(undefined)).toBe('');
    expect(encodeQuery(null)).toBe('');
    expect(encodeQuery({})).toBe('');
    expect(simple('')).toBe('');
  });

  it('sorts pairs by name and keeps them readable', () => {
    expect(simple('tag=dragons&limit=20&offset=0&author=jake')).toBe(
      'author=jake&limit=20&offset=0&tag=dragons',
    );
  });

  it('gives one text for every spelling of one query', () => {
    const spellings = [
      'author=jake%20doe&tag=a',
      'tag=a&author=jake+doe',
      'tag=%61&%61uthor=jake%20doe',
      'author=jake doe&tag=a',
    ];
    expect(new Set(spellings.map(simple))).toEqual(new Set(['author=jake%20doe&tag=a']));
  });

  it('tells apart queries that differ', () => {
    const texts = [
      '',
      'a',
      'a=',
      'a=1',
      'a=2',
      'b=1',
      'a=1&b=2',
      'a=1&a=2',
      'a=2&a=1',
      'a=1%262',
      'a=1%26a%3D2',
      'a=%2A',
      'a=%21""',
      'a%3D1=',
      'a=1,2',
    ].map(simple);
    // `?a` and `?a=` are one query to both parsers
    expect(simple('a')).toBe(simple('a='));
    expect(new Set(texts).size).toBe(texts.length - 1);
  });

  it('repeats a name given more than once, keeping the order the request gave', () => {
    expect(simple('tag=b&tag=a&x=1')).toBe('tag=b&tag=a&x=1');
    expect(simple('tag=a&tag=b')).not.toBe(simple('tag=b&tag=a'));
  });

  it('types what is not a string or a repeated name, so no string value can spell it', () => {
    expect(encodeQuery({ tag: ['a'] })).toBe(`tag=${encodeKeyPart(['a'])}`);
    expect(encodeQuery({ tag: ['a'] })).not.toBe(encodeQuery({ tag: 'a' }));
    expect(encodeQuery({ tag: [] })).toBe('tag=!%5B%5D');
    // `?filter[status]=open`: a nested object with an extended parser, a bracketed name without
    const nested = encodeQuery({ filter: { status: 'open' } });
    expect(nested).toBe(`filter=${encodeKeyPart({ status: 'open' })}`);
    expect(nested).toBe('filter=!%7B"status"%3A"open"%7D');
    expect(simple('filter[status]=open')).toBe('filter%5Bstatus%5D=open');
    // a string that looks like a typed value is escaped
    expect(encodeQuery({ tag: '!%5B%5D' })).toBe('tag=%21%255B%255D');
    expect(encodeQuery({ n: 5 })).toBe('n=5');
  });

  it('escapes & and = in names and values, so no value forges a pair', () => {
    expect(encodeQuery({ tag: 'a&author=jake' })).toBe('tag=a%26author%3Djake');
    expect(encodeQuery({ 'tag=a&author': 'jake' })).toBe('tag%3Da%26author=jake');
    expect(encodeQuery({ tag: 'a&author=jake' })).not.toBe(
      encodeQuery({ tag: 'a', author: 'jake' }),
    );
    expect(encodeQuery({ tag: ['a&b=c', 'd'] })).toBe('tag=a%26b%3Dc&tag=d');
  });

  it('escapes glob characters, separators and white space, so no value widens a pattern', () => {
    const text = encodeQuery({ 'q*': '*', tag: 'a:?[b]\\ {c}', x: ['*', '%'] })!;
    expect(text).toBe('q%2A=%2A&tag=a%3A%3F%5Bb%5D%5C%20%7Bc%7D&x=%2A&x=%25');
    expect(text).not.toMatch(/[*?[\]\\:{}\s]/);
    // a pattern made from a `*` query matches only its own key, not every query
    const pattern = globToRegExp(`articles:${encodeQuery({ tag: '*' })!}:*`);
    expect(pattern.test(`articles:${encodeQuery({ tag: '*' })!}:u1`)).toBe(true);
    expect(pattern.test(`articles:${encodeQuery({ tag: 'dragons' })!}:u1`)).toBe(false);
  });

  it('hashes values longer than 128 characters, as other key parts', () => {
    const long = 'x'.repeat(500);
    expect(encodeQuery({ q: long })).toBe(`q=${encodeKeyPart(long)}`);
    expect(encodeQuery({ q: long })).toMatch(/^q=#[A-Za-z0-9_-]{43}$/);
  });

  it('skips undefined values and refuses values that cannot be keyed', () => {
    expect(encodeQuery({ a: undefined, b: '1' })).toBe('b=1');
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(encodeQuery({ a: cycle })).toBeUndefined();
    expect(encodeQuery({ a: ['x', cycle] })).toBeUndefined();
    expect(encodeQuery({ a: () => 1 })).toBeUndefined();
  });

  it('reads only own enumerable names (a null-prototype query included)', () => {
    const query = Object.create(null) as Record<string, unknown>;
    query.b = '2';
    query.a = '1';
    expect(encodeQuery(query)).toBe('a=1&b=2');
    expect(simple('__proto__=x&constructor=y')).toBe('__proto__=x&constructor=y');
  });
});
