import { describe, expect, it } from '@jest/globals';
import { catchCacheError } from '../../test/test-cache.js';
import { CacheErrorCode } from '../cache.errors.js';
import { encodeKeyPart, tryEncodeKeyPart } from './key-encoding.js';
import { MAX_VALUE_DEPTH, MAX_VALUE_NODES, typedText } from './value-encoding.js';

class UserDto {
  constructor(
    readonly id: number,
    readonly name: string,
  ) {}
}
class Money {
  constructor(private readonly cents: bigint) {}
  toJSON(): string {
    return `${this.cents}c`;
  }
}
class OtherDto {
  constructor(readonly id: number) {}
}

/** Values that must all encode differently from each other (as method arguments). */
const DISTINCT: unknown[] = [
  new Set([3]),
  new Set([1, 2]),
  new Set(),
  new Map([[1, 'a']]),
  new Map([['1', 'a']]),
  new Map([[2, 'b']]),
  new Map(),
  {},
  [],
  [undefined],
  [null],
  [[]],
  '',
  'null',
  'undefined',
  null,
  undefined,
  0,
  -0,
  '0',
  Number.NaN,
  'NaN',
  Infinity,
  -Infinity,
  1n,
  '1n',
  true,
  'true',
  new Date(0),
  new Date(1),
  new Date(Number.NaN),
  '1970-01-01T00:00:00.000Z',
  Buffer.from('ab'),
  new Uint8Array([97, 98]),
  new Int8Array([97, 98]),
  new Uint16Array([0x6261]),
  Buffer.from('ac'),
  new Float64Array([0]),
  new Float64Array([-0]),
  new ArrayBuffer(2),
  /a/g,
  /a/i,
  new UserDto(1, 'a'),
  new UserDto(2, 'a'),
  { id: 1, name: 'a' },
  new OtherDto(1),
  { id: 1 },
  new Money(5n),
  new Money(6n),
  '5c',
  Object(1) as unknown,
  Object('1') as unknown,
  ['red', 'shoes'],
  '["red","shoes"]',
  'red,shoes',
  { q: ['red', 'shoes'] },
  { q: '["red","shoes"]' },
  { q: { 0: 'red', 1: 'shoes' } },
  [['q', 'red']],
];

function expectDistinct(pairs: Array<[unknown, string | undefined]>): void {
  const seen = new Map<string, unknown>();
  for (const [value, encoded] of pairs) {
    expect(encoded).toBeDefined();
    const first = seen.has(encoded!) ? seen.get(encoded!) : value;
    expect({ encoded, first }).toEqual({ encoded, first: value });
    seen.set(encoded!, value);
  }
}

describe('typed, unambiguous encoding of values (issue 13, keys 2 and 3)', () => {
  it('gives distinct values distinct encodings as method arguments', () => {
    expectDistinct(DISTINCT.map((value) => [value, tryEncodeKeyPart([value])]));
  });

  it('gives distinct values distinct encodings alone, but for a scalar and its text', () => {
    const scalar = (v: unknown) =>
      typeof v === 'bigint' ||
      typeof v === 'boolean' ||
      (typeof v === 'number' && Number.isFinite(v) && !Object.is(v, -0));
    expectDistinct(DISTINCT.filter((v) => !scalar(v)).map((v) => [v, tryEncodeKeyPart(v)]));
  });

  it('tells apart Sets and Maps by content (byIds(new Set([3])) vs byIds(new Set([1, 2])))', () => {
    expect(tryEncodeKeyPart([new Set([3])])).toBe('!%5BSet(3)%5D');
    expect(tryEncodeKeyPart([new Set([1, 2])])).toBe('!%5BSet(1,2)%5D');
    expect(tryEncodeKeyPart(new Map([[1, { a: 'x' }]]))).toBe('!Map(%5B1,%7B"a"%3A"x"%7D%5D)');
  });

  it('is canonical: member and field order do not matter, equal content shares a key', () => {
    expect(tryEncodeKeyPart(new Set([2, 1]))).toBe(tryEncodeKeyPart(new Set([1, 2])));
    expect(
      tryEncodeKeyPart(
        new Map([
          [2, 'b'],
          [1, 'a'],
        ]),
      ),
    ).toBe(
      tryEncodeKeyPart(
        new Map([
          [1, 'a'],
          [2, 'b'],
        ]),
      ),
    );
    expect(tryEncodeKeyPart({ b: 1, a: 2 })).toBe(tryEncodeKeyPart({ a: 2, b: 1 }));
    expect(tryEncodeKeyPart([new UserDto(1, 'a')])).toBe(tryEncodeKeyPart([new UserDto(1, 'a')]));
  });

  it('a string never encodes like an array or object (a query value cannot forge a key)', () => {
    expect(tryEncodeKeyPart('["red","shoes"]')).toBe('%5B"red","shoes"%5D');
    expect(tryEncodeKeyPart(['red', 'shoes'])).toBe('!%5B"red","shoes"%5D');
    expect(tryEncodeKeyPart('!%5B"red","shoes"%5D')).not.toBe(tryEncodeKeyPart(['red', 'shoes']));
    expect(tryEncodeKeyPart('{"a":"b"}')).not.toBe(tryEncodeKeyPart({ a: 'b' }));
    expect(tryEncodeKeyPart('null')).not.toBe(tryEncodeKeyPart(null));
  });

  it('keeps numbers, bigints and booleans as their canonical text, like the string of it', () => {
    expect(tryEncodeKeyPart(42)).toBe('42');
    expect(tryEncodeKeyPart(42n)).toBe('42');
    expect(tryEncodeKeyPart('42')).toBe('42');
    expect(tryEncodeKeyPart(true)).toBe('true');
    expect(tryEncodeKeyPart(-1.5)).toBe('-1.5');
  });

  it('spells the typed text of each kind', () => {
    expect(typedText([1, 'a', null, undefined, true, 2n, -0, Number.NaN])).toBe(
      '[1,"a",null,undefined,true,2n,-0,NaN]',
    );
    expect(typedText({ b: [1], a: { c: 'x' } })).toBe('{"a":{"c":"x"},"b":[1]}');
    expect(typedText(new Date(0))).toBe('Date(1970-01-01T00:00:00.000Z)');
    expect(typedText(Buffer.from('hi'))).toBe('Buffer(aGk=)');
    expect(typedText(new Uint16Array([1]))).toBe('Uint16Array(AQA=)');
    expect(typedText(new Uint8Array(Buffer.from('xhiy')).subarray(1, 3))).toBe('Uint8Array(aGk=)');
    expect(typedText(/a.b/gi)).toBe('RegExp("/a.b/gi")');
    expect(typedText(new UserDto(1, 'a'))).toBe('UserDto{"id":1,"name":"a"}');
    expect(typedText(new Money(5n))).toBe('Money("5c")');
    expect(typedText(Object.assign(Object.create(null), { a: 1 }))).toBe('{"a":1}');
  });

  describe('refuses what it cannot key (the call then bypasses the cache)', () => {
    it.each<[string, unknown]>([
      ['a function', () => 1],
      ['a symbol', Symbol('s')],
      ['a function inside', [{ f: () => 1 }]],
      ['a promise', Promise.resolve(1)],
      ['a WeakMap', new WeakMap()],
      ['a WeakSet', new WeakSet()],
      ['an Error', new Error('x')],
      ['a proxy', new Proxy({}, {})],
      ['a field keyed by a symbol', { [Symbol('k')]: 1 }],
      [
        'a throwing getter',
        {
          get x(): never {
            throw new Error('boom');
          },
        },
      ],
      [
        'a throwing toJSON',
        {
          toJSON(): never {
            throw new Error('boom');
          },
        },
      ],
    ])('%s', (_what, value) => {
      expect(tryEncodeKeyPart(value)).toBeUndefined();
      expect(tryEncodeKeyPart([value])).toBeUndefined();
    });

    it('a cycle (an ORM entity with a back-reference), but not a shared reference', () => {
      const order: Record<string, unknown> = { id: 1 };
      order.customer = { orders: [order] };
      expect(tryEncodeKeyPart([order])).toBeUndefined();
      const shared = { id: 1 };
      expect(tryEncodeKeyPart([shared, shared])).toBe('!%5B%7B"id"%3A1%7D,%7B"id"%3A1%7D%5D');
      class Self {
        toJSON(): unknown {
          return this;
        }
      }
      expect(tryEncodeKeyPart(new Self())).toBeUndefined();
    });

    it(`deeper than ${MAX_VALUE_DEPTH} levels or more than ${MAX_VALUE_NODES} values`, () => {
      let deep: unknown = 1;
      for (let i = 0; i < MAX_VALUE_DEPTH; i++) deep = [deep];
      expect(tryEncodeKeyPart(deep)).toBeDefined();
      expect(tryEncodeKeyPart([deep])).toBeUndefined();
      expect(tryEncodeKeyPart(new Array(MAX_VALUE_NODES - 1).fill(0))).toMatch(/^#/);
      expect(tryEncodeKeyPart(new Array(MAX_VALUE_NODES).fill(0))).toBeUndefined();
      const sparse: unknown[] = [];
      sparse[1e9] = 1;
      expect(tryEncodeKeyPart(sparse)).toBeUndefined();
      expect(tryEncodeKeyPart([Buffer.alloc(2 << 20)])).toBeUndefined();
      expect(tryEncodeKeyPart(['x'.repeat(2 << 20)])).toBeUndefined();
    });

    it('encodeKeyPart throws E_INVALID_KEY naming the kind of value, never its content', () => {
      const err = catchCacheError(() => encodeKeyPart({ secret: 's3cr3t', f: () => 1 }));
      expect(err.code).toBe(CacheErrorCode.E_INVALID_KEY);
      expect(err.message).toMatch(/^a value of type object cannot be part of a cache key/);
      expect(err.message).not.toContain('s3cr3t');
      expect(encodeKeyPart('a')).toBe('a');
    });
  });

  it('hashes a long typed value apart from the string of the same text', () => {
    const list = Array.from({ length: 100 }, (_, i) => `item${i}`);
    const hashed = tryEncodeKeyPart(list)!;
    expect(hashed).toMatch(/^#[\w-]{43}$/);
    expect(tryEncodeKeyPart(typedText(list))).not.toBe(hashed);
    expect(tryEncodeKeyPart(`!${typedText(list)}`)).not.toBe(hashed);
    expect(tryEncodeKeyPart([...list])).toBe(hashed);
  });
});
