import { createHash } from 'node:crypto';
import { CacheError, CacheErrorCode } from '../cache.errors.js';

/** Version byte of an encoded {@link CachedResponse}. */
const FORMAT = 1;
/** version (1) + storedAt (8, float64) + content-type length (2) + ETag length (1). */
const HEADER_BYTES = 12;

/**
 * The answer of a `@Cached` route as it was sent: the body bytes, their content type, a strong
 * ETag computed once from those bytes, and when it was stored. This is what a route's cache entry
 * holds, and what interceptors outside the cache's see on a hit instead of the handler's value:
 * whatever they make of it, these bytes are sent. Immutable; its fields are private, so
 * serializers that walk an object's own properties (`JSON.stringify`, class-transformer) see `{}`.
 */
export class CachedResponse {
  readonly #body: Buffer;
  readonly #contentType: string;
  readonly #etag: string;
  readonly #storedAt: number;

  /** @internal Built by the cache when it stores a route's answer, or decodes a stored one. */
  constructor(body: Buffer, contentType: string, etag: string, storedAt: number) {
    this.#body = body;
    this.#contentType = contentType;
    this.#etag = etag;
    this.#storedAt = storedAt;
  }

  /** @internal A new answer of `body` (copied) sent with `contentType`, stored at `storedAt`. */
  static of(body: Uint8Array, contentType: string, storedAt: number): CachedResponse {
    const own = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    return new CachedResponse(Buffer.from(own), contentType, strongEtag(own), storedAt);
  }

  /** The body as it was sent (do not modify it). */
  get body(): Buffer {
    return this.#body;
  }

  /** The `Content-Type` it was sent with (`''` when it had none: an empty body). */
  get contentType(): string {
    return this.#contentType;
  }

  /** Its strong `ETag`, quotes included. */
  get etag(): string {
    return this.#etag;
  }

  /** When it was stored, in epoch ms on the cache's clock. */
  get storedAt(): number {
    return this.#storedAt;
  }

  /** @internal Its bytes inside a cache entry (the value codec `HttpResponse`). */
  encode(): Buffer {
    const type = Buffer.from(this.#contentType, 'latin1');
    const etag = Buffer.from(this.#etag, 'latin1');
    const out = Buffer.allocUnsafe(HEADER_BYTES + type.length + etag.length + this.#body.length);
    out[0] = FORMAT;
    out.writeDoubleBE(this.#storedAt, 1);
    out.writeUInt16BE(type.length, 9);
    out[11] = etag.length;
    type.copy(out, HEADER_BYTES);
    etag.copy(out, HEADER_BYTES + type.length);
    this.#body.copy(out, HEADER_BYTES + type.length + etag.length);
    return out;
  }

  /**
   * @internal Reads what {@link encode} wrote, from `offset` on; the body is copied, so the answer
   * never holds on to a larger buffer (a socket read). Throws `E_CORRUPT_ENTRY` when malformed.
   */
  static decode(bytes: Buffer, offset: number): CachedResponse {
    if (bytes.length - offset < HEADER_BYTES || bytes[offset] !== FORMAT)
      throw corrupt('bad header');
    const storedAt = bytes.readDoubleBE(offset + 1);
    const typeEnd = offset + HEADER_BYTES + bytes.readUInt16BE(offset + 9);
    const etagEnd = typeEnd + bytes[offset + 11]!;
    if (!Number.isFinite(storedAt) || etagEnd > bytes.length) throw corrupt('truncated');
    return new CachedResponse(
      Buffer.from(bytes.subarray(etagEnd)),
      bytes.toString('latin1', offset + HEADER_BYTES, typeEnd),
      bytes.toString('latin1', typeEnd, etagEnd),
      storedAt,
    );
  }
}

/** A strong ETag of a body: the quoted, base64url SHA-1 of its bytes (27 characters). */
export function strongEtag(body: Uint8Array): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`;
}

function corrupt(reason: string): CacheError {
  return new CacheError(
    CacheErrorCode.E_CORRUPT_ENTRY,
    `stored route answer is corrupt: ${reason}`,
  );
}
