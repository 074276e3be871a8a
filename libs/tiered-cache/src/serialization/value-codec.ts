import v8 from 'node:v8';
import { CacheError, CacheErrorCode, describeError } from '../cache.errors.js';
import { CachedResponse } from '../http/cached-response.js';

/** How a value's bytes are encoded inside an entry (one byte in the envelope). */
export const enum ValueCodec {
  /** Plain UTF-8 JSON: used whenever the value is exactly representable as JSON. */
  Json = 1,
  /** V8 structured-clone bytes: Date, Map, Set, BigInt, Buffer, typed arrays, cycles. */
  V8 = 2,
  /** The answer of a `@Cached` route as it was sent (`CachedResponse`): body, content type, ETag. */
  HttpResponse = 3,
}

/** An encoded value: the codec that was used and its bytes. */
export interface EncodedValue {
  readonly codec: ValueCodec;
  readonly bytes: Buffer;
}

let needsStructuredClone = false;
/** Whether a `toJSON` (other than Date's and Buffer's) replaced a value during the JSON pass. */
let sawToJson = false;

/**
 * JSON.stringify replacer that notices anything JSON would not round-trip exactly. `this[key]` is
 * the raw value before `toJSON`, so Dates and Buffers are caught before they become strings.
 * Objects with their own `toJSON` (other than Date and Buffer) are encoded as their JSON form.
 */
function detectNonJson(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  switch (typeof raw) {
    case 'object':
      if (raw !== null && (ArrayBuffer.isView(raw) || raw instanceof ArrayBuffer)) {
        // Binary data needs structured clone; returning null spares JSON a walk of every byte
        // (Buffer#toJSON gives an array of numbers: seconds for a few MiB).
        needsStructuredClone = true;
        return null;
      }
      if (raw !== value && raw !== null && !(raw instanceof Date)) sawToJson = true;
      if (
        raw !== null &&
        !Array.isArray(raw) &&
        (raw instanceof Date || raw instanceof Map || raw instanceof Set || raw instanceof RegExp)
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
 * objects either way. An object with a `toJSON` (other than a Date or a Buffer) is stored as what
 * its `toJSON` returns, on both paths, so what `toJSON` leaves out is never stored. Functions and
 * symbols cannot be cached: they throw `E_UNSERIALIZABLE`. A route's {@link CachedResponse} has
 * its own codec.
 */
export function encodeValue(value: unknown): EncodedValue {
  if (value instanceof CachedResponse)
    return { codec: ValueCodec.HttpResponse, bytes: value.encode() };
  // Binary data goes straight to structured clone (JSON would first copy every byte into an array).
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer)
    return { codec: ValueCodec.V8, bytes: serializeOrThrow(value) };
  needsStructuredClone = false;
  sawToJson = false;
  let json: string | undefined;
  try {
    json = JSON.stringify(value, detectNonJson);
  } catch {
    // Cycles, or a toJSON that throws: let V8 try, applying every toJSON (the pass stopped early).
    needsStructuredClone = true;
    sawToJson = true;
  }
  if (!needsStructuredClone && json !== undefined) {
    return { codec: ValueCodec.Json, bytes: Buffer.from(json, 'utf8') };
  }
  return { codec: ValueCodec.V8, bytes: serializeOrThrow(value, sawToJson) };
}

/**
 * V8's structured-clone bytes of a value (of its `toJSON` projection with `projected`); throws
 * `E_UNSERIALIZABLE` when it cannot be cloned or a `toJSON` throws.
 */
function serializeOrThrow(value: unknown, projected = false): Buffer {
  try {
    return v8.serialize(projected ? applyToJson(value) : value);
  } catch (err) {
    throw new CacheError(
      CacheErrorCode.E_UNSERIALIZABLE,
      // V8's message quotes the function's source or the symbol's description: never in the message.
      `value cannot be serialized: it holds a function, a symbol or another value structured clone refuses, or a toJSON threw (${describeError(err)})`,
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
    if (codec === ValueCodec.HttpResponse) return CachedResponse.decode(bytes, offset);
  } catch (err) {
    if (err instanceof CacheError) throw err;
    throw new CacheError(CacheErrorCode.E_CORRUPT_ENTRY, 'stored value cannot be decoded', {
      cause: err,
    });
  }
  throw new CacheError(CacheErrorCode.E_CORRUPT_ENTRY, `unknown value codec ${codec}`);
}

/**
 * A copy of `value` in which every object with a `toJSON` method (other than a Date or a Buffer,
 * which structured clone keeps) is replaced by what that method returns, at any depth, as
 * `JSON.stringify` does; Maps, Sets, Dates, BigInts, typed arrays and cycles stay as they are for
 * structured clone. Class instances become plain objects of their own enumerable properties (as
 * structured clone would make them).
 */
export function applyToJson(value: unknown): unknown {
  return project(value, '', new Map());
}

function project(value: unknown, key: string, seen: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Date || ArrayBuffer.isView(value) || value instanceof ArrayBuffer)
    return value;
  const done = seen.get(value);
  if (done !== undefined) return done;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    const replaced: unknown = toJSON.call(value, key);
    // A toJSON that returns its own object (or another with a toJSON) is taken as JSON would.
    if (replaced === value || typeof replaced !== 'object' || replaced === null) return replaced;
    seen.set(value, replaced);
    const out = project(replaced, key, seen);
    seen.set(value, out);
    return out;
  }
  if (value instanceof Map) {
    const out = new Map<unknown, unknown>();
    seen.set(value, out);
    for (const [k, v] of value) out.set(project(k, '', seen), project(v, String(k), seen));
    return out;
  }
  if (value instanceof Set) {
    const out = new Set<unknown>();
    seen.set(value, out);
    for (const item of value) out.add(project(item, '', seen));
    return out;
  }
  if (Array.isArray(value)) {
    const out: unknown[] = new Array<unknown>(value.length);
    seen.set(value, out);
    for (let i = 0; i < value.length; i++) out[i] = project(value[i], String(i), seen);
    return out;
  }
  if (value instanceof RegExp || value instanceof Error) return value;
  const out: Record<string, unknown> = {};
  seen.set(value, out);
  for (const name of Object.keys(value)) {
    const item = project((value as Record<string, unknown>)[name], name, seen);
    // A plain data property, "__proto__" included, as structured clone would define it.
    Object.defineProperty(out, name, {
      value: item,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}
