import { afterEach, describe, expect, it } from '@jest/globals';
import { types } from 'node:util';
import v8 from 'node:v8';
import { CacheError, CacheErrorCode } from '../cache.errors.js';
import type { CacheEntry } from '../interfaces/cache-backend.interface.js';
import {
  DEFAULT_MAX_ENTRY_BYTES,
  decodeEntry,
  encodeEntry,
  ENTRY_FORMAT_VERSION,
  MAX_TAG_BYTES,
  MAX_TAGS_PER_ENTRY,
  readEntryHeader,
  valueCodecOf,
  valueOffsetOf,
} from './entry-codec.js';
import { decodeValue, encodeValue } from './value-codec.js';
import { catchCacheError } from '../../test/test-cache.js';

/** Codec bytes of the envelope (byte 1), as documented in entry-codec.ts. */
const JSON_CODEC = 1;
const V8_CODEC = 2;
const HEADER_BYTES = 20;

/**
 * Jest runs the spec in a vm context, while v8.deserialize builds its objects in Node's main realm:
 * built-ins are told apart with node:util `types` and plain objects by shape, not by identity.
 */
const HOST_OBJECT_PROTOTYPE = Object.getPrototypeOf(v8.deserialize(v8.serialize({}))) as object;

function isPlainObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === Object.prototype || proto === HOST_OBJECT_PROTOTYPE;
}

function entryOf(value: unknown, extra: Partial<CacheEntry> = {}): CacheEntry {
  return { value, expiresAt: 1_700_000_000_000, staleUntil: 1_700_000_060_000, tags: [], ...extra };
}

/** Encodes and decodes a value through a fresh entry; returns the codec used and the decoded value. */
function roundTrip(value: unknown): { codec: number; value: unknown } {
  const buf = encodeEntry(entryOf(value));
  return { codec: buf[1]!, value: decodeEntry(buf).value };
}

/** Builds an envelope by hand, following the layout documented in entry-codec.ts. */
function envelope(options: {
  version?: number;
  codec: number;
  expiresAt?: number;
  staleUntil?: number;
  tags?: string[];
  payload: Buffer;
}): Buffer {
  const tags = (options.tags ?? []).map((t) => Buffer.from(t, 'utf8'));
  const head = Buffer.alloc(HEADER_BYTES);
  head[0] = options.version ?? ENTRY_FORMAT_VERSION;
  head[1] = options.codec;
  head.writeDoubleBE(options.expiresAt ?? 1_000, 2);
  head.writeDoubleBE(options.staleUntil ?? 2_000, 10);
  head.writeUInt16BE(tags.length, 18);
  const parts: Buffer[] = [head];
  for (const t of tags) {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(t.length, 0);
    parts.push(len, t);
  }
  parts.push(options.payload);
  return Buffer.concat(parts);
}

afterEach(() => {
  // A failed pollution test must not leak into the next ones.
  delete (Object.prototype as Record<string, unknown>).polluted;
});

describe('value round trips', () => {
  it('keeps plain JSON values exactly, through the JSON codec', () => {
    const values: unknown[] = [
      null,
      '',
      'hello',
      'ünïcödé ✓ 🚀',
      0,
      42,
      -17.25,
      Number.MAX_SAFE_INTEGER,
      true,
      false,
      [],
      {},
      [1, 'two', null, [3, [4]]],
      { a: 1, b: { c: [true, { d: 'e' }] }, 'weird key:*': null },
    ];
    for (const value of values) {
      const { codec, value: back } = roundTrip(value);
      expect(codec).toBe(JSON_CODEC);
      expect(back).toStrictEqual(value);
    }
  });

  it('writes a JSON payload as readable UTF-8 JSON right after the header', () => {
    const value = { user: 'zoë', roles: ['admin', 'dev'], n: 3 };
    const buf = encodeEntry(entryOf(value));
    expect(buf[0]).toBe(ENTRY_FORMAT_VERSION);
    expect(buf[1]).toBe(JSON_CODEC);
    const payload = buf.subarray(readEntryHeader(buf).valueOffset).toString('utf8');
    expect(payload).toBe(JSON.stringify(value));
    expect(JSON.parse(payload)).toEqual(value);
  });

  it('keeps Date, Map, Set, BigInt, Buffer and typed arrays, through the V8 codec', () => {
    const date = new Date('2024-02-29T12:34:56.789Z');
    const cases: Array<[unknown, (back: unknown) => void]> = [
      [
        date,
        (back) => {
          expect(types.isDate(back)).toBe(true);
          expect((back as Date).getTime()).toBe(date.getTime());
        },
      ],
      [
        new Map<unknown, unknown>([
          ['a', 1],
          [2, { b: [3] }],
        ]),
        (back) => {
          expect(types.isMap(back)).toBe(true);
          expect([...(back as Map<unknown, unknown>)]).toEqual([
            ['a', 1],
            [2, { b: [3] }],
          ]);
        },
      ],
      [
        new Set([1, 'x', 1n]),
        (back) => {
          expect(types.isSet(back)).toBe(true);
          expect([...(back as Set<unknown>)]).toEqual([1, 'x', 1n]);
        },
      ],
      [12345678901234567890123n, (back) => expect(back).toBe(12345678901234567890123n)],
      [-5n, (back) => expect(back).toBe(-5n)],
      [
        new Uint8Array([0, 1, 254, 255]),
        (back) => {
          expect(types.isUint8Array(back)).toBe(true);
          expect(Array.from(back as Uint8Array)).toEqual([0, 1, 254, 255]);
        },
      ],
      [
        new Float64Array([1.5, -0.25, Number.MAX_VALUE]),
        (back) => {
          expect(types.isFloat64Array(back)).toBe(true);
          expect(Array.from(back as Float64Array)).toEqual([1.5, -0.25, Number.MAX_VALUE]);
        },
      ],
      [
        Buffer.from('héllo\u0000bytes', 'utf8'),
        (back) => {
          // V8 gives back the bytes as a Uint8Array (a Buffer is a Uint8Array subclass).
          expect(types.isUint8Array(back)).toBe(true);
          expect(Buffer.from(back as Uint8Array).toString('utf8')).toBe('héllo\u0000bytes');
        },
      ],
    ];
    for (const [value, check] of cases) {
      const { codec, value: back } = roundTrip(value);
      expect(codec).toBe(V8_CODEC);
      check(back);
    }
  });

  it('keeps rich values nested deep inside plain objects and arrays', () => {
    const value = {
      list: [1, { when: new Date(0), tags: new Set(['a']) }],
      nested: { deeper: { id: 9007199254740993n, bytes: new Uint8Array([7]) } },
      plain: 'text',
    };
    const { codec, value: back } = roundTrip(value);
    expect(codec).toBe(V8_CODEC);
    expect(back).toEqual(value);
    const b = back as typeof value;
    expect(b.list[1]).toEqual({ when: new Date(0), tags: new Set(['a']) });
    expect(types.isDate((b.list[1] as { when: Date }).when)).toBe(true);
    expect(b.nested.deeper.id).toBe(9007199254740993n);
  });

  it('keeps NaN, Infinity, -Infinity and -0 instead of turning them into null or 0', () => {
    for (const n of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0]) {
      const { codec, value: back } = roundTrip(n);
      expect(codec).toBe(V8_CODEC);
      expect(Object.is(back, n)).toBe(true);
    }
    const { value: back } = roundTrip({ a: [1, Number.NaN], b: { c: -Infinity }, d: -0 });
    expect(back).toEqual({ a: [1, Number.NaN], b: { c: -Infinity }, d: -0 });
    expect(Object.is((back as { d: number }).d, -0)).toBe(true);
  });

  it('keeps undefined elements and holes of arrays (JSON would make them null)', () => {
    const withUndefined = [1, undefined, 3];
    const a = roundTrip(withUndefined);
    expect(a.codec).toBe(V8_CODEC);
    expect(a.value).toHaveLength(3);
    expect((a.value as unknown[])[1]).toBeUndefined();
    expect((a.value as unknown[])[1]).not.toBeNull();

    // eslint-disable-next-line no-sparse-arrays -- a hole is what is being tested
    const sparse = [1, , 3];
    const b = roundTrip(sparse);
    expect(b.codec).toBe(V8_CODEC);
    expect(b.value).toHaveLength(3);
    expect(1 in (b.value as unknown[])).toBe(false);
    expect((b.value as unknown[])[2]).toBe(3);

    expect(roundTrip({ nested: [[undefined]] }).value).toEqual({ nested: [[undefined]] });
    expect(
      (roundTrip({ nested: [[undefined]] }).value as { nested: unknown[][] }).nested[0]![0],
    ).toBeUndefined();
  });

  it('keeps undefined itself, and drops undefined properties as JSON does', () => {
    const top = roundTrip(undefined);
    expect(top.codec).toBe(V8_CODEC);
    expect(top.value).toBeUndefined();

    const obj = roundTrip({ a: 1, b: undefined });
    expect(obj.codec).toBe(JSON_CODEC);
    expect(obj.value).toStrictEqual({ a: 1 });
  });

  it('keeps cycles and shared references', () => {
    const node: { name: string; self?: unknown; list: unknown[] } = { name: 'root', list: [] };
    node.self = node;
    node.list.push(node, { back: node });
    const { codec, value } = roundTrip(node);
    expect(codec).toBe(V8_CODEC);
    const back = value as typeof node;
    expect(back).not.toBe(node);
    expect(back.name).toBe('root');
    expect(back.self).toBe(back);
    expect(back.list[0]).toBe(back);
    expect((back.list[1] as { back: unknown }).back).toBe(back);

    const shared = { x: 1 };
    const pair = roundTrip([shared, shared, new Date(5)]).value as unknown[];
    expect(pair[0]).toBe(pair[1]);
  });

  it('gives class instances back as plain objects, whichever codec is used', () => {
    class Point {
      constructor(
        public x: number,
        public y: number,
      ) {}
      norm(): number {
        return Math.hypot(this.x, this.y);
      }
    }
    const json = roundTrip(new Point(3, 4));
    expect(json.codec).toBe(JSON_CODEC);
    expect(json.value).not.toBeInstanceOf(Point);
    expect(isPlainObject(json.value)).toBe(true);
    expect(json.value).toStrictEqual({ x: 3, y: 4 });

    class Stamped {
      at = new Date(1000);
      label = 'x';
    }
    const v8ed = roundTrip(new Stamped());
    expect(v8ed.codec).toBe(V8_CODEC);
    expect(v8ed.value).not.toBeInstanceOf(Stamped);
    expect(isPlainObject(v8ed.value)).toBe(true);
    expect(v8ed.value).toEqual({ at: new Date(1000), label: 'x' });
  });

  it('encodes an object with its own toJSON as its JSON form', () => {
    const value = { secret: 'raw', toJSON: () => ({ shown: true }) };
    const { codec, value: back } = roundTrip(value);
    expect(codec).toBe(JSON_CODEC);
    expect(back).toStrictEqual({ shown: true });
  });

  it('returns a copy, never the cached object itself', () => {
    const value = { list: [1, 2] };
    const back = roundTrip(value).value as typeof value;
    expect(back).toEqual(value);
    expect(back).not.toBe(value);
    back.list.push(3);
    expect(value.list).toEqual([1, 2]);
  });
});

describe('unserializable values', () => {
  it.each<[string, unknown]>([
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
    ['a function inside an object', { a: 1, fn() {} }],
    ['a symbol deep inside an array', [1, [{ s: Symbol.iterator }]]],
    ['a function next to a Date', { when: new Date(), cb: () => undefined }],
  ])('throws E_UNSERIALIZABLE for %s', (_what, value) => {
    const err = catchCacheError(() => encodeEntry(entryOf(value)));
    expect(err.code).toBe(CacheErrorCode.E_UNSERIALIZABLE);
    expect(err.message).toMatch(/cannot be serialized/);
    expect(err.cause).toBeDefined();
    const direct = catchCacheError(() => encodeValue(value));
    expect(direct.code).toBe(CacheErrorCode.E_UNSERIALIZABLE);
  });

  it('does not remember a failed value as needing V8 for the next, JSON-safe one', () => {
    expect(() => encodeValue(Symbol('x'))).toThrow(CacheError);
    expect(encodeValue({ ok: true }).codec).toBe(JSON_CODEC);
    expect(encodeValue(Number.NaN).codec).toBe(V8_CODEC);
    expect(encodeValue(1).codec).toBe(JSON_CODEC);
  });
});

describe('envelope header', () => {
  it('keeps expiresAt, staleUntil and tags (UTF-8 included)', () => {
    const entry = entryOf(
      { v: 1 },
      {
        expiresAt: 1_234_567_890_123.5,
        staleUntil: 1_234_567_999_999,
        tags: ['cache:tag:users', 'ünï:✓', '', 'x'.repeat(MAX_TAG_BYTES)],
      },
    );
    const buf = encodeEntry(entry);
    const back = decodeEntry(buf);
    expect(back).toEqual(entry);
    expect(back.expiresAt).toBe(1_234_567_890_123.5);
    expect(back.staleUntil).toBe(1_234_567_999_999);
    const header = readEntryHeader(buf);
    expect(header.tags).toEqual(entry.tags);
    expect(header.codec).toBe(JSON_CODEC);
    expect(buf.subarray(header.valueOffset).toString('utf8')).toBe('{"v":1}');
  });

  it('writes the documented layout', () => {
    const buf = encodeEntry(entryOf('v', { expiresAt: 10, staleUntil: 20, tags: ['ab', 'é'] }));
    expect(buf[0]).toBe(1);
    expect(buf[1]).toBe(JSON_CODEC);
    expect(buf.readDoubleBE(2)).toBe(10);
    expect(buf.readDoubleBE(10)).toBe(20);
    expect(buf.readUInt16BE(18)).toBe(2);
    expect(buf.readUInt16BE(20)).toBe(2);
    expect(buf.toString('utf8', 22, 24)).toBe('ab');
    expect(buf.readUInt16BE(24)).toBe(2); // 'é' is two UTF-8 bytes
    expect(buf.toString('utf8', 26, 28)).toBe('é');
    expect(buf.toString('utf8', 28)).toBe('"v"');
    expect(buf).toHaveLength(28 + 3);
    // A hand-built envelope of the same fields is byte for byte the same.
    expect(
      envelope({
        codec: JSON_CODEC,
        expiresAt: 10,
        staleUntil: 20,
        tags: ['ab', 'é'],
        payload: Buffer.from('"v"'),
      }),
    ).toEqual(buf);
  });

  it('decodes a plain Uint8Array (not a Buffer), including one at an offset in a larger buffer', () => {
    const buf = encodeEntry(entryOf({ a: [1, 2] }, { tags: ['t'] }));
    const copy = new Uint8Array(buf);
    expect(decodeEntry(copy).value).toEqual({ a: [1, 2] });

    const big = new Uint8Array(buf.length + 10);
    big.set(buf, 5);
    const view = big.subarray(5, 5 + buf.length);
    expect(decodeEntry(view)).toEqual(entryOf({ a: [1, 2] }, { tags: ['t'] }));
  });

  it('refuses more than MAX_TAGS_PER_ENTRY tags and a tag longer than MAX_TAG_BYTES', () => {
    const many = Array.from({ length: MAX_TAGS_PER_ENTRY + 1 }, (_, i) => `t${i}`);
    const err = catchCacheError(() => encodeEntry(entryOf(1, { tags: many })));
    expect(err.code).toBe(CacheErrorCode.E_INVALID_KEY);
    expect(err.message).toContain(String(MAX_TAGS_PER_ENTRY));
    const atLimit = Array.from({ length: MAX_TAGS_PER_ENTRY }, (_, i) => `t${i}`);
    expect(decodeEntry(encodeEntry(entryOf(1, { tags: atLimit }))).tags).toEqual(atLimit);

    // Measured in UTF-8 bytes: 513 two-byte characters are 1026 bytes.
    const long = catchCacheError(() =>
      encodeEntry(entryOf(1, { tags: ['é'.repeat(MAX_TAG_BYTES / 2 + 1)] })),
    );
    expect(long.code).toBe(CacheErrorCode.E_INVALID_KEY);
    expect(long.message).toContain(String(MAX_TAG_BYTES));
  });
});

describe('corrupt envelopes', () => {
  const good = (): Buffer =>
    Buffer.from(encodeEntry(entryOf({ ok: [1, 2, 3] }, { tags: ['alpha', 'beta'] })));

  function expectCorrupt(buf: Uint8Array, message: RegExp, maxBytes?: number): void {
    const err = catchCacheError(() => decodeEntry(buf, maxBytes));
    expect(err.code).toBe(CacheErrorCode.E_CORRUPT_ENTRY);
    expect(err.message).toMatch(message);
  }

  it('accepts the untouched envelope', () => {
    expect(decodeEntry(good()).value).toEqual({ ok: [1, 2, 3] });
  });

  it('rejects a wrong version byte', () => {
    for (const version of [0, 2, 255]) {
      const buf = good();
      buf[0] = version;
      expectCorrupt(buf, new RegExp(`unknown entry format version ${version}`));
      const header = catchCacheError(() => readEntryHeader(buf));
      expect(header.code).toBe(CacheErrorCode.E_CORRUPT_ENTRY);
    }
  });

  it('rejects an unknown codec byte', () => {
    for (const codec of [0, 4, 255]) {
      const buf = good();
      buf[1] = codec;
      expectCorrupt(buf, new RegExp(`unknown value codec ${codec}`));
    }
    expect(() => decodeValue(7, Buffer.from('1'))).toThrow(/unknown value codec 7/);
  });

  it('rejects every truncation of an envelope', () => {
    const buf = good();
    const { valueOffset } = readEntryHeader(buf);
    // Cut inside the fixed header or the tags: the header reader notices.
    for (let len = 0; len < valueOffset; len++) {
      expectCorrupt(buf.subarray(0, len), /truncated/);
    }
    // Cut inside the JSON value: the value decoder notices.
    for (let len = valueOffset; len < buf.length; len++) {
      expectCorrupt(buf.subarray(0, len), /cannot be decoded/);
    }
  });

  it('rejects a truncated V8 value', () => {
    const buf = encodeEntry(entryOf(new Map([['k', new Date(1)]])));
    expect(buf[1]).toBe(V8_CODEC);
    expectCorrupt(buf.subarray(0, buf.length - 3), /cannot be decoded/);
  });

  it('rejects a tag count or tag length that runs past the end', () => {
    const count = good();
    count.writeUInt16BE(200, 18);
    expectCorrupt(count, /truncated/);

    const length = good();
    length.writeUInt16BE(60_000, HEADER_BYTES);
    expectCorrupt(length, /truncated/);

    const tooMany = good();
    tooMany.writeUInt16BE(MAX_TAGS_PER_ENTRY + 1, 18);
    expectCorrupt(tooMany, /too many tags/);
  });

  it('rejects a non-finite expiry', () => {
    const nan = good();
    nan.writeDoubleBE(Number.NaN, 2);
    expectCorrupt(nan, /invalid expiry/);
    const inf = good();
    inf.writeDoubleBE(Number.POSITIVE_INFINITY, 10);
    expectCorrupt(inf, /invalid expiry/);
  });

  it('rejects an entry larger than maxBytes before parsing anything', () => {
    const buf = good();
    expect(decodeEntry(buf, buf.length).value).toEqual({ ok: [1, 2, 3] });
    expectCorrupt(
      buf,
      new RegExp(`entry of ${buf.length} bytes exceeds the ${buf.length - 1}-byte limit`),
      buf.length - 1,
    );
    // Checked first: even a garbage buffer reports its size, not its garbage.
    const garbage = Buffer.alloc(100, 0xff);
    expectCorrupt(garbage, /exceeds the 10-byte limit/, 10);
    const header = catchCacheError(() => readEntryHeader(buf, 5));
    expect(header.message).toMatch(/exceeds the 5-byte limit/);
    expect(DEFAULT_MAX_ENTRY_BYTES).toBe(64 * 1024 * 1024);
  });

  it('rejects garbage', () => {
    expectCorrupt(Buffer.alloc(0), /truncated/);
    expectCorrupt(
      Buffer.from('hello, this is not a cache entry at all'),
      /unknown entry format version/,
    );
    expectCorrupt(
      envelope({ codec: JSON_CODEC, payload: Buffer.from('{"a":') }),
      /cannot be decoded/,
    );
    expectCorrupt(envelope({ codec: JSON_CODEC, payload: Buffer.alloc(0) }), /cannot be decoded/);
    expectCorrupt(
      envelope({ codec: JSON_CODEC, payload: Buffer.from([0xff, 0xfe, 0x00]) }),
      /cannot be decoded/,
    );
    expectCorrupt(
      envelope({ codec: V8_CODEC, payload: Buffer.from('definitely not v8') }),
      /cannot be decoded/,
    );
    expectCorrupt(envelope({ codec: V8_CODEC, payload: Buffer.alloc(0) }), /cannot be decoded/);
    // A deterministic pseudo-random fuzz over headers that pass the version check.
    let seed = 12345;
    const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    for (let round = 0; round < 200; round++) {
      const bytes = Buffer.from(Array.from({ length: 20 + (round % 40) }, next));
      bytes[0] = ENTRY_FORMAT_VERSION;
      let outcome: unknown;
      try {
        outcome = decodeEntry(bytes);
      } catch (err) {
        outcome = err;
      }
      // Random bytes may occasionally decode; anything else must be a corrupt-entry CacheError.
      if (outcome instanceof Error) {
        expect(outcome).toBeInstanceOf(CacheError);
        expect((outcome as CacheError).code).toBe(CacheErrorCode.E_CORRUPT_ENTRY);
      }
    }
  });
});

describe('prototype pollution', () => {
  const POISON = '{"__proto__":{"polluted":true}}';

  /** Neither this realm's Object.prototype nor the one v8.deserialize builds in was touched. */
  function expectNoPollution(): void {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(
      (Object.create(HOST_OBJECT_PROTOTYPE) as Record<string, unknown>).polluted,
    ).toBeUndefined();
    expect((v8.deserialize(v8.serialize({})) as Record<string, unknown>).polluted).toBeUndefined();
  }

  afterEach(() => {
    delete (HOST_OBJECT_PROTOTYPE as Record<string, unknown>).polluted;
  });

  it('a JSON payload with "__proto__" stays an own property (envelope patched from a real one)', () => {
    const harmless = encodeEntry(entryOf({ harmless: 1 }, { tags: ['t'] }));
    const { valueOffset } = readEntryHeader(harmless);
    const crafted = Buffer.concat([harmless.subarray(0, valueOffset), Buffer.from(POISON, 'utf8')]);
    expect(crafted[1]).toBe(JSON_CODEC);

    const decoded = decodeEntry(crafted);
    expect(decoded.tags).toEqual(['t']);
    const value = decoded.value as Record<string, unknown>;
    expectNoPollution();
    expect(isPlainObject(value)).toBe(true);
    expect(Object.prototype.hasOwnProperty.call(value, '__proto__')).toBe(true);
    expect(value.polluted).toBeUndefined();
  });

  it('a hand-built JSON envelope with nested "__proto__" keys pollutes nothing', () => {
    const crafted = envelope({
      codec: JSON_CODEC,
      tags: ['x'],
      payload: Buffer.from(`{"a":[${POISON}],"b":${POISON}}`),
    });
    const decoded = decodeEntry(crafted).value as {
      a: Array<Record<string, unknown>>;
      b: Record<string, unknown>;
    };
    expectNoPollution();
    expect(decoded.a[0]!.polluted).toBeUndefined();
    expect(decoded.b.polluted).toBeUndefined();
  });

  it('a V8 payload with an own "__proto__" key pollutes nothing', () => {
    const poisoned = JSON.parse(POISON) as unknown;
    const payload = v8.serialize(poisoned);
    const crafted = envelope({ codec: V8_CODEC, payload });
    const decoded = decodeEntry(crafted).value as Record<string, unknown>;
    expectNoPollution();
    expect(isPlainObject(decoded)).toBe(true);
    expect(Object.prototype.hasOwnProperty.call(decoded, '__proto__')).toBe(true);
    expect(decoded.polluted).toBeUndefined();
  });

  it('re-encoding a decoded poisoned value keeps it inert', () => {
    const decoded = decodeEntry(envelope({ codec: JSON_CODEC, payload: Buffer.from(POISON) }));
    const again = decodeEntry(encodeEntry({ ...decoded }));
    expectNoPollution();
    expect(Object.prototype.hasOwnProperty.call(again.value, '__proto__')).toBe(true);
  });
});

describe('encoded-bytes memo', () => {
  it('returns the very same Buffer for the same entry object', () => {
    const entry = entryOf({ a: 1 }, { tags: ['t'] });
    const first = encodeEntry(entry);
    expect(encodeEntry(entry)).toBe(first);
  });

  it('encodes an equal but distinct entry object again', () => {
    const a = encodeEntry(entryOf({ a: 1 }));
    const b = encodeEntry(entryOf({ a: 1 }));
    expect(b).not.toBe(a);
    expect(b).toEqual(a);
  });

  it('with remember, decodeEntry makes encodeEntry(decoded) return the buffer it was given', () => {
    const buf = Buffer.from(encodeEntry(entryOf(new Map([['k', 1]]), { tags: ['x'] })));
    const decoded = decodeEntry(buf, DEFAULT_MAX_ENTRY_BYTES, true);
    expect(encodeEntry(decoded)).toBe(buf);
  });

  it('without remember, the decoded entry is encoded afresh (equal bytes, another buffer)', () => {
    const buf = Buffer.from(encodeEntry(entryOf({ v: [1] })));
    const decoded = decodeEntry(buf);
    const again = encodeEntry(decoded);
    expect(again).not.toBe(buf);
    expect(again).toEqual(buf);
    const decodedDefault = decodeEntry(buf, DEFAULT_MAX_ENTRY_BYTES, false);
    expect(encodeEntry(decodedDefault)).not.toBe(buf);
  });

  it('does not remember an entry whose encoding failed', () => {
    const entry = entryOf({ fn: () => 1 });
    expect(() => encodeEntry(entry)).toThrow(CacheError);
    expect(() => encodeEntry(entry)).toThrow(CacheError);
  });
});

describe('valueCodecOf / valueOffsetOf', () => {
  it('agree with readEntryHeader on envelopes with and without tags', () => {
    for (const entry of [
      entryOf({ a: 1 }),
      entryOf(new Date(0), { tags: ['t', 'été', 'x'.repeat(300)] }),
      entryOf('text', { tags: ['only'] }),
    ]) {
      const bytes = encodeEntry(entry);
      const header = readEntryHeader(bytes);
      expect(valueCodecOf(bytes)).toBe(header.codec);
      expect(valueOffsetOf(bytes)).toBe(header.valueOffset);
    }
  });
});
