import { CacheError, CacheErrorCode } from '../cache.errors.js';
import type { CacheEntry } from '../interfaces/cache-backend.interface.js';
import { decodeValue, encodeValue } from './value-codec.js';

/**
 * Binary envelope of a stored entry, version 1 (all integers big-endian):
 *
 * | bytes | field |
 * |---|---|
 * | 1 | format version (1) |
 * | 1 | value codec (1 = JSON, 2 = V8 structured clone) |
 * | 8 | expiresAt, float64 epoch ms |
 * | 8 | staleUntil, float64 epoch ms |
 * | 2 | tag count |
 * | 2 + n each | tag length, UTF-8 tag |
 * | rest | value bytes |
 *
 * The version byte lets the format evolve: an entry of an unknown version is read as corrupt
 * (a miss), never guessed at.
 */
export const ENTRY_FORMAT_VERSION = 1;
const HEADER_BYTES = 20;
/** Most tags one entry may carry. */
export const MAX_TAGS_PER_ENTRY = 256;
/** Longest tag, in UTF-8 bytes. */
export const MAX_TAG_BYTES = 1024;
/** Default ceiling on one encoded entry (64 MiB); checked before anything is parsed. */
export const DEFAULT_MAX_ENTRY_BYTES = 64 * 1024 * 1024;

/** The tags of an entry without tags: one shared, frozen array instead of one per entry. */
export const NO_TAGS: readonly string[] = Object.freeze([]);

/** Encoded bytes remembered per written entry object, so writing to two tiers never encodes twice. */
const encodedCache = new WeakMap<CacheEntry, Buffer>();

/**
 * An entry read from a serializing tier, carrying the bytes it was decoded from, so that a backfill
 * into the other tier never encodes it again. The bytes sit in a private field: invisible to
 * callers and to equality checks, and cheaper on the hot read path than a WeakMap insertion.
 */
class DecodedEntry implements CacheEntry {
  readonly #bytes: Buffer;

  constructor(
    readonly value: unknown,
    readonly expiresAt: number,
    readonly staleUntil: number,
    readonly tags: readonly string[],
    bytes: Buffer,
  ) {
    this.#bytes = bytes;
  }

  /** The bytes an entry was decoded from, if it was. */
  static bytesOf(entry: CacheEntry): Buffer | undefined {
    return #bytes in entry ? (entry as DecodedEntry).#bytes : undefined;
  }
}

/** The known envelope of an entry (it was decoded from, or already encoded to, these bytes). */
function knownBytes(entry: CacheEntry): Buffer | undefined {
  return DecodedEntry.bytesOf(entry) ?? encodedCache.get(entry);
}

/** Encodes an entry into its envelope. Throws `E_UNSERIALIZABLE` when the value cannot be stored. */
export function encodeEntry(entry: CacheEntry): Buffer {
  const known = knownBytes(entry);
  if (known !== undefined) return known;
  const { codec, bytes } = encodeValue(entry.value);
  const tags = entry.tags;
  if (tags.length > MAX_TAGS_PER_ENTRY) {
    throw new CacheError(
      CacheErrorCode.E_INVALID_KEY,
      `an entry may carry at most ${MAX_TAGS_PER_ENTRY} tags`,
    );
  }
  const tagBytes = tags.map((tag) => Buffer.from(tag, 'utf8'));
  let size = HEADER_BYTES + bytes.length;
  for (const t of tagBytes) {
    if (t.length > MAX_TAG_BYTES)
      throw new CacheError(
        CacheErrorCode.E_INVALID_KEY,
        `a tag is longer than ${MAX_TAG_BYTES} bytes`,
      );
    size += 2 + t.length;
  }
  const out = Buffer.allocUnsafe(size);
  out[0] = ENTRY_FORMAT_VERSION;
  out[1] = codec;
  out.writeDoubleBE(entry.expiresAt, 2);
  out.writeDoubleBE(entry.staleUntil, 10);
  out.writeUInt16BE(tagBytes.length, 18);
  let offset = HEADER_BYTES;
  for (const t of tagBytes) {
    out.writeUInt16BE(t.length, offset);
    t.copy(out, offset + 2);
    offset += 2 + t.length;
  }
  bytes.copy(out, offset);
  encodedCache.set(entry, out);
  return out;
}

/** The header fields of an envelope, read without decoding the value. */
export interface EntryHeader {
  readonly expiresAt: number;
  readonly staleUntil: number;
  readonly tags: readonly string[];
  /** Offset of the value bytes in the envelope. */
  readonly valueOffset: number;
  readonly codec: number;
}

/**
 * Reads an envelope's header. Sizes are checked before anything is parsed; throws `E_CORRUPT_ENTRY`
 * on a wrong version, a truncated buffer or an oversized entry.
 */
export function readEntryHeader(buf: Uint8Array, maxBytes = DEFAULT_MAX_ENTRY_BYTES): EntryHeader {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length > maxBytes)
    throw corrupt(`entry of ${b.length} bytes exceeds the ${maxBytes}-byte limit`);
  if (b.length < HEADER_BYTES) throw corrupt('entry is truncated');
  if (b[0] !== ENTRY_FORMAT_VERSION) throw corrupt(`unknown entry format version ${b[0]}`);
  const codec = b[1]!;
  const expiresAt = b.readDoubleBE(2);
  const staleUntil = b.readDoubleBE(10);
  if (!Number.isFinite(expiresAt) || !Number.isFinite(staleUntil))
    throw corrupt('entry has invalid expiry');
  const count = b.readUInt16BE(18);
  if (count > MAX_TAGS_PER_ENTRY) throw corrupt('entry has too many tags');
  let offset = HEADER_BYTES;
  if (count === 0) return { expiresAt, staleUntil, tags: NO_TAGS, valueOffset: offset, codec };
  const tags: string[] = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    if (offset + 2 > b.length) throw corrupt('entry is truncated');
    const len = b.readUInt16BE(offset);
    offset += 2;
    if (len > MAX_TAG_BYTES || offset + len > b.length) throw corrupt('entry is truncated');
    tags[i] = b.toString('utf8', offset, offset + len);
    offset += len;
  }
  return { expiresAt, staleUntil, tags, valueOffset: offset, codec };
}

/** The value codec of an envelope this process encoded or already read (not checked again). */
export function valueCodecOf(envelope: Buffer): number {
  return envelope[1]!;
}

/**
 * Where the value starts in an envelope this process encoded or already read with
 * {@link readEntryHeader} (it is not checked again): the header's length, tags included.
 */
export function valueOffsetOf(envelope: Buffer): number {
  let offset = HEADER_BYTES;
  for (let count = envelope.readUInt16BE(18); count > 0; count--)
    offset += 2 + envelope.readUInt16BE(offset);
  return offset;
}

/**
 * Decodes an envelope into an entry. With `remember`, the bytes are kept for the entry so that
 * writing it to another tier (a backfill from L2 into L1) does not serialize it again.
 * Throws `E_CORRUPT_ENTRY` when malformed.
 */
export function decodeEntry(
  buf: Uint8Array,
  maxBytes = DEFAULT_MAX_ENTRY_BYTES,
  remember = false,
): CacheEntry {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const header = readEntryHeader(b, maxBytes);
  const value = decodeValue(header.codec, b, header.valueOffset);
  return remember
    ? new DecodedEntry(value, header.expiresAt, header.staleUntil, header.tags, b)
    : { value, expiresAt: header.expiresAt, staleUntil: header.staleUntil, tags: header.tags };
}

function corrupt(reason: string): CacheError {
  return new CacheError(CacheErrorCode.E_CORRUPT_ENTRY, `stored entry is corrupt: ${reason}`);
}

/**
 * The same entry with its freshness and stale window ending no later than `until` (a tier's TTL
 * cap). When the entry's bytes are known, the copy's bytes are those with the two times patched,
 * so capping never serializes the value again.
 */
export function capEntry(entry: CacheEntry, until: number): CacheEntry {
  const capped: CacheEntry = {
    value: entry.value,
    expiresAt: Math.min(entry.expiresAt, until),
    staleUntil: Math.min(entry.staleUntil, until),
    tags: entry.tags,
  };
  const known = knownBytes(entry);
  if (known !== undefined) {
    const patched = Buffer.from(known);
    patched.writeDoubleBE(capped.expiresAt, 2);
    patched.writeDoubleBE(capped.staleUntil, 10);
    encodedCache.set(capped, patched);
  }
  return capped;
}
