import v8 from 'node:v8';
import { CacheError, CacheErrorCode } from '../cache.errors.js';

/** How a value's bytes are encoded inside an entry (one byte in the envelope). */
export const enum ValueCodec {
  /** Plain UTF-8 JSON: used whenever the value is exactly representable as JSON. */
  Json = 1,
  /** V8 structured-clone bytes: Date, Map, Set, BigInt, Buffer, typed arrays, cycles. */
  V8 = 2,
}

/** An encoded value: the codec that was used and its bytes. */
export interface EncodedValue {
  readonly codec: ValueCodec;
  readonly bytes: Buffer;
}

let needsStructuredClone = false;

/**
 * JSON.stringify replacer that notices anything JSON would not round-trip exactly. `this[key]` is
 * the raw value before `toJSON`, so Dates and Buffers are caught before they become strings.
 * Objects with their own `toJSON` (other than Date and Buffer) are encoded as their JSON form.
 */
function detectNonJson(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  switch (typeof raw) {
    case 'object':
      if (
        raw !== null &&
        !Array.isArray(raw) &&
        (raw instanceof Date ||
          ArrayBuffer.isView(raw) ||
          raw instanceof Map ||
          raw instanceof Set ||
          raw instanceof ArrayBuffer ||
          raw instanceof RegExp)
      ) {
        needsStructuredClone = true;
      }
      return value;
    case 'number':
      // NaN and ±Infinity become null in JSON, and -0 becomes 0.
      if (!Number.isFinite(raw) || Object.is(raw, -0)) needsStructuredClone = true;
      return value;
    case 'bigint':
    case 'function':
    case 'symbol':
      needsStructuredClone = true;
      return null;
    case 'undefined':
      // An undefined array element would come back as null; an undefined property is simply dropped.
      if (Array.isArray(this)) needsStructuredClone = true;
      return value;
    default:
      return value;
  }
}

/**
 * Encodes a value. JSON is used when it round-trips the value exactly (the common case, and
 * readable in `redis-cli`); anything richer goes through V8's structured-clone serializer, which
 * keeps Date, Map, Set, BigInt, Buffer, typed arrays and cycles. Class instances become plain
 * objects either way. Functions and symbols cannot be cached: they throw `E_UNSERIALIZABLE`.
 */
export function encodeValue(value: unknown): EncodedValue {
  needsStructuredClone = false;
  let json: string | undefined;
  try {
    json = JSON.stringify(value, detectNonJson);
  } catch {
    needsStructuredClone = true; // cycles, or a toJSON that throws: let V8 try
  }
  if (!needsStructuredClone && json !== undefined) {
    return { codec: ValueCodec.Json, bytes: Buffer.from(json, 'utf8') };
  }
  try {
    return { codec: ValueCodec.V8, bytes: v8.serialize(value) };
  } catch (err) {
    throw new CacheError(
      CacheErrorCode.E_UNSERIALIZABLE,
      `value cannot be serialized (${err instanceof Error ? err.message : String(err)})`,
      { cause: err },
    );
  }
}

/**
 * Decodes bytes written by {@link encodeValue} (from `offset` on). Never evaluates code: JSON.parse and V8's
 * deserializer only build data, and both define `__proto__` as an ordinary own property, so a
 * crafted payload cannot reach `Object.prototype`. Throws `E_CORRUPT_ENTRY` on anything malformed.
 */
export function decodeValue(codec: number, bytes: Buffer, offset = 0): unknown {
  try {
    // toString with an offset: no Buffer view allocated on the hot read path.
    if (codec === ValueCodec.Json) return JSON.parse(bytes.toString('utf8', offset));
    if (codec === ValueCodec.V8)
      return v8.deserialize(offset === 0 ? bytes : bytes.subarray(offset));
  } catch (err) {
    throw new CacheError(CacheErrorCode.E_CORRUPT_ENTRY, 'stored value cannot be decoded', {
      cause: err,
    });
  }
  throw new CacheError(CacheErrorCode.E_CORRUPT_ENTRY, `unknown value codec ${codec}`);
}
