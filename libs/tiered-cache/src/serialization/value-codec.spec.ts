import { describe, expect, it } from '@jest/globals';
import { types } from 'node:util';
import { CacheErrorCode } from '../cache.errors.js';
import { CachedResponse } from '../http/cached-response.js';
import { catchCacheError } from '../../test/test-cache.js';
import { decodeValue, encodeValue, ValueCodec } from './value-codec.js';

/**
 * What round-trips and what becomes plain data, one case per rule (issue 11, point 2). Jest runs
 * the spec in a vm context while V8's deserializer builds objects in Node's main realm, so
 * built-ins are told apart with node:util `types`, not `instanceof`.
 */
function roundTrip(value: unknown): { codec: ValueCodec; back: unknown } {
  const { codec, bytes } = encodeValue(value);
  return { codec, back: decodeValue(codec, bytes) };
}

/** A user whose `toJSON` leaves its password hash out. */
class Account {
  constructor(
    readonly id: number,
    readonly passwordHash: string,
    readonly createdAt: Date,
  ) {}
  toJSON() {
    return { id: this.id, createdAt: this.createdAt };
  }
}

describe('values with toJSON', () => {
  it('are stored as what toJSON returns: JSON when that is plain data', () => {
    const { codec, back } = roundTrip({ id: 1, secret: 'raw', toJSON: () => ({ id: 1 }) });
    expect(codec).toBe(ValueCodec.Json);
    expect(back).toStrictEqual({ id: 1 });
  });

  it('are stored as what toJSON returns when a Date needs structured clone, the Date kept', () => {
    const { codec, back } = roundTrip(new Account(7, 'secret-hash', new Date(1000)));
    expect(codec).toBe(ValueCodec.V8);
    expect(Object.keys(back as object).sort()).toEqual(['createdAt', 'id']);
    expect(types.isDate((back as Account).createdAt)).toBe(true);
    expect((back as Account).createdAt.getTime()).toBe(1000);
    expect(JSON.stringify(back)).not.toContain('secret');
  });

  it('are replaced at any depth: in objects, arrays, Map values and Set elements', () => {
    const account = () => new Account(1, 'secret-hash', new Date(5));
    const value = {
      owner: account(),
      list: [account()],
      byId: new Map([[1, account()]]),
      set: new Set([account()]),
      total: 10n,
    };
    const { codec, back } = roundTrip(value);
    expect(codec).toBe(ValueCodec.V8);
    const out = back as {
      owner: object;
      list: object[];
      byId: Map<number, object>;
      set: Set<object>;
      total: bigint;
    };
    expect(Object.keys(out.owner).sort()).toEqual(['createdAt', 'id']);
    expect(Object.keys(out.list[0]!).sort()).toEqual(['createdAt', 'id']);
    expect(types.isMap(out.byId)).toBe(true);
    expect(Object.keys(out.byId.get(1)!).sort()).toEqual(['createdAt', 'id']);
    expect(types.isSet(out.set)).toBe(true);
    expect(Object.keys([...out.set][0]!).sort()).toEqual(['createdAt', 'id']);
    expect(out.total).toBe(10n);
    expect(JSON.stringify(out, (_k, v: unknown) => (typeof v === 'bigint' ? 1 : v))).not.toContain(
      'secret',
    );
  });

  it('keep rich values that toJSON itself returns (a BigInt, a Map)', () => {
    const value = { toJSON: () => ({ big: 2n ** 70n, map: new Map([['a', 1]]) }), secret: 'x' };
    const { back } = roundTrip(value);
    const out = back as { big: bigint; map: Map<string, number> };
    expect(Object.keys(out).sort()).toEqual(['big', 'map']);
    expect(out.big).toBe(2n ** 70n);
    expect(out.map.get('a')).toBe(1);
  });

  it('become a primitive when toJSON returns one (a money amount beside a BigInt)', () => {
    const price = { cents: 450, toJSON: () => '4.50 EUR' };
    const { back } = roundTrip({ price, stock: 3n });
    expect(back).toEqual({ price: '4.50 EUR', stock: 3n });
  });

  it('keep cycles and shared references around them', () => {
    const account = new Account(1, 'secret-hash', new Date(5));
    const node: Record<string, unknown> = { account, again: account };
    node.self = node;
    const { codec, back } = roundTrip(node);
    expect(codec).toBe(ValueCodec.V8);
    const out = back as { self: unknown; account: object; again: object };
    expect(out.self).toBe(out);
    expect(out.again).toBe(out.account);
    expect(Object.keys(out.account).sort()).toEqual(['createdAt', 'id']);
  });

  it('cannot be stored when toJSON throws', () => {
    const value = {
      at: new Date(1),
      toJSON() {
        throw new Error('no');
      },
    };
    expect(catchCacheError(() => encodeValue(value)).code).toBe(CacheErrorCode.E_UNSERIALIZABLE);
  });

  it('except Dates and Buffers, which round-trip as themselves', () => {
    const { back } = roundTrip({ at: new Date(3), raw: Buffer.from([1, 2, 3]) });
    const out = back as { at: Date; raw: Buffer };
    expect(types.isDate(out.at)).toBe(true);
    expect(out.at.getTime()).toBe(3);
    expect(Buffer.isBuffer(out.raw)).toBe(true);
    expect([...out.raw]).toEqual([1, 2, 3]);
  });

  it('never walk the bytes of binary data in the JSON pass (an 8 MiB Buffer took seconds)', () => {
    // JSON.stringify calls a Buffer's toJSON first; the pass must not then descend into what it
    // returned (an array of every byte). This one's toJSON reports whether anything read it.
    let walked = false;
    const raw = Buffer.from([1, 2, 3]);
    Object.defineProperty(raw, 'toJSON', {
      value: () => ({
        get data() {
          walked = true;
          return [];
        },
      }),
    });
    const { codec, back } = roundTrip({ raw, typed: new Float64Array([1.5]) });
    expect(walked).toBe(false);
    expect(codec).toBe(ValueCodec.V8);
    expect([...(back as { raw: Buffer }).raw]).toEqual([1, 2, 3]);
    expect([...(back as { typed: Float64Array }).typed]).toEqual([1.5]);
  });
});

describe('route answers (CachedResponse)', () => {
  it('round-trip their bytes, content type, ETag and time, with a codec of their own', () => {
    const answer = CachedResponse.of(
      Buffer.from('{"a":1}'),
      'application/json; charset=utf-8',
      1234.5,
    );
    const { codec, back } = roundTrip(answer);
    expect(codec).toBe(ValueCodec.HttpResponse);
    const out = back as CachedResponse;
    expect(out).toBeInstanceOf(CachedResponse);
    expect(out.body.toString()).toBe('{"a":1}');
    expect(out.contentType).toBe('application/json; charset=utf-8');
    expect(out.etag).toBe(answer.etag);
    expect(out.storedAt).toBe(1234.5);
    expect(JSON.stringify(out)).toBe('{}');
  });

  it('copy the body they are given, and read corrupt bytes as E_CORRUPT_ENTRY', () => {
    const body = Buffer.from('abc');
    const answer = CachedResponse.of(body, 'text/plain', 0);
    body[0] = 0x7a;
    expect(answer.body.toString()).toBe('abc');
    const bytes = encodeValue(answer).bytes;
    expect(
      catchCacheError(() => decodeValue(ValueCodec.HttpResponse, bytes.subarray(0, 5))).code,
    ).toBe(CacheErrorCode.E_CORRUPT_ENTRY);
    const truncated = Buffer.from(bytes.subarray(0, 14));
    expect(catchCacheError(() => decodeValue(ValueCodec.HttpResponse, truncated)).code).toBe(
      CacheErrorCode.E_CORRUPT_ENTRY,
    );
  });
});
