import v8 from 'node:v8';
import { CacheError, CacheErrorCode } from '../cache.errors.js';
import type { CacheEntry } from '../interfaces/cache-backend.interface.js';
import { ValueCodec } from '../serialization/value-codec.js';

/** What a {@link MemoryRecord} holds in `data`. */
export const enum Held {
  /** A string, finite number, boolean or null, or a route's answer: immutable, handed out as is. */
  Primitive,
  /** The JSON text of the value, not yet read. */
  JsonText,
  /** A private JSON tree (plain objects, arrays, primitives), copied for every reader. */
  JsonTree,
  /** V8 structured-clone bytes (Date, Map, Set, BigInt, Buffer, typed arrays, cycles). */
  V8Bytes,
}

/**
 * One entry of the `memory` tier: its times and tags as fields, and the value in a form no caller
 * ever holds. JSON values are kept as text until first read, then as a private tree, because
 * copying a tree is several times cheaper than parsing its text again.
 */
export class MemoryRecord {
  constructor(
    private held: Held,
    private data: unknown,
    readonly expiresAt: number,
    readonly staleUntil: number,
    readonly tags: readonly string[],
  ) {}

  /** A record of `value` from its encoded form (`codec` and the value's `bytes`, from `offset`). */
  static of(entry: CacheEntry, codec: number, bytes: Buffer, offset: number): MemoryRecord {
    const { value } = entry;
    let held: Held;
    let data: unknown;
    if (codec === ValueCodec.Json) {
      if (typeof value === 'object' && value !== null) {
        held = Held.JsonText;
        data = bytes.toString('utf8', offset);
      } else {
        held = Held.Primitive; // JSON round-trips it exactly, and it cannot be mutated
        data = value;
      }
    } else if (codec === ValueCodec.HttpResponse) {
      held = Held.Primitive; // a CachedResponse: immutable, its body already a private copy
      data = value;
    } else {
      held = Held.V8Bytes;
      data = Uint8Array.prototype.slice.call(bytes, offset); // its own small ArrayBuffer
    }
    return new MemoryRecord(held, data, entry.expiresAt, entry.staleUntil, entry.tags);
  }

  /** A copy of the value that the caller owns. Throws `E_CORRUPT_ENTRY` when it cannot be read. */
  value(): unknown {
    switch (this.held) {
      case Held.Primitive:
        return this.data;
      case Held.JsonTree:
        return copyJson(this.data);
      case Held.JsonText: {
        const value = parse(() => JSON.parse(this.data as string));
        this.data = copyJson(value);
        this.held = Held.JsonTree;
        return value;
      }
      case Held.V8Bytes:
        return parse(() => v8.deserialize(this.data as Uint8Array));
    }
  }
}

/** What the `memory` tier returns on a hit: the caller's copy of the value, the record's times. */
export class MemoryHit implements CacheEntry {
  constructor(
    readonly value: unknown,
    private readonly record: MemoryRecord,
  ) {}

  get expiresAt(): number {
    return this.record.expiresAt;
  }

  get staleUntil(): number {
    return this.record.staleUntil;
  }

  get tags(): readonly string[] {
    return this.record.tags;
  }
}

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * A deep copy of a JSON tree (what `JSON.parse` builds: plain objects, arrays, primitives), equal
 * to parsing its text again. Each object and array is copied shallowly by V8's own fast paths
 * (spread, `slice`), then only its nested objects and arrays are copied in turn. Spread copies own
 * enumerable properties only and defines `__proto__` as a plain property, as `JSON.parse` does.
 */
export function copyJson(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const out: unknown[] = value.slice();
    for (let i = 0; i < out.length; i++) {
      const item = out[i];
      if (typeof item === 'object' && item !== null) out[i] = copyJson(item);
    }
    return out;
  }
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = { ...source };
  for (const key in source) {
    const item = source[key];
    // An own "__proto__" of `out` is a data property: assigning it sets the property.
    if (typeof item === 'object' && item !== null && hasOwn.call(source, key))
      out[key] = copyJson(item);
  }
  return out;
}

function parse(read: () => unknown): unknown {
  try {
    return read();
  } catch (err) {
    throw new CacheError(CacheErrorCode.E_CORRUPT_ENTRY, 'stored value cannot be decoded', {
      cause: err,
    });
  }
}
