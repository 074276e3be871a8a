import { createHash } from 'node:crypto';
import { CacheError, CacheErrorCode } from '../cache.errors.js';

/**
 * On-disk layout of one entry of the filesystem backend, version 1 (integers big-endian):
 *
 * | bytes | field |
 * |---|---|
 * | 4 | magic `NTCF` |
 * | 1 | file format version (1) |
 * | 4 | key length in bytes |
 * | n | the full key, UTF-8 |
 * | rest | the entry envelope of `entry-codec.ts` |
 *
 * The key is kept so that pattern, tag and prefix deletes can match it without an index, and so
 * that a hash collision on the file name reads as a miss instead of another key's value.
 */
export const FILE_MAGIC = Buffer.from('NTCF', 'latin1');
/** Version byte of the file layout; any other value is read as corrupt. */
export const FILE_FORMAT_VERSION = 1;
/** Bytes before the key: magic, version and key length. */
export const FILE_PREFIX_BYTES = 9;
/** Longest key stored, in UTF-8 bytes (a sanity bound when reading a file of unknown key). */
export const MAX_FILE_KEY_BYTES = 1024 * 1024;
/** Suffix of entry files. */
export const ENTRY_SUFFIX = '.entry';
/** Prefix of temporary files being written (renamed onto their entry file once complete). */
export const TEMP_PREFIX = '.tmp-';
/** Prefix of the files `ping()` writes and removes. */
export const PROBE_PREFIX = '.probe-';

/** The file name of a key: its SHA-256 in hex, so no key can name a path outside the directory. */
export function entryFileName(key: string): string {
  return `${createHash('sha256').update(key, 'utf8').digest('hex')}${ENTRY_SUFFIX}`;
}

/** Builds the file bytes of one entry from its key and its encoded envelope. */
export function encodeFile(key: string, envelope: Buffer): Buffer {
  const keyBytes = Buffer.from(key, 'utf8');
  if (keyBytes.length > MAX_FILE_KEY_BYTES) {
    throw new CacheError(
      CacheErrorCode.E_INVALID_KEY,
      `a key is longer than ${MAX_FILE_KEY_BYTES} bytes`,
    );
  }
  const out = Buffer.allocUnsafe(FILE_PREFIX_BYTES + keyBytes.length + envelope.length);
  FILE_MAGIC.copy(out, 0);
  out[4] = FILE_FORMAT_VERSION;
  out.writeUInt32BE(keyBytes.length, 5);
  keyBytes.copy(out, FILE_PREFIX_BYTES);
  envelope.copy(out, FILE_PREFIX_BYTES + keyBytes.length);
  return out;
}

/** The parts of an entry file; both buffers are views of the file's bytes. */
export interface ParsedFile {
  readonly keyBytes: Buffer;
  readonly envelope: Buffer;
}

/**
 * Splits the bytes of an entry file (or its first chunk) into key and envelope. Throws
 * `E_CORRUPT_ENTRY` on a wrong magic or version, or when the key runs past the end.
 */
export function parseFile(buf: Buffer): ParsedFile {
  if (buf.length < FILE_PREFIX_BYTES) throw fileCorrupt('file is truncated');
  if (!buf.subarray(0, 4).equals(FILE_MAGIC)) throw fileCorrupt('file has no NTCF magic');
  if (buf[4] !== FILE_FORMAT_VERSION) throw fileCorrupt(`unknown file format version ${buf[4]}`);
  const keyLength = buf.readUInt32BE(5);
  if (keyLength > MAX_FILE_KEY_BYTES) throw fileCorrupt('file has an oversized key');
  const end = FILE_PREFIX_BYTES + keyLength;
  if (end > buf.length) throw fileCorrupt('file is truncated');
  return { keyBytes: buf.subarray(FILE_PREFIX_BYTES, end), envelope: buf.subarray(end) };
}

/** The `E_CORRUPT_ENTRY` error of a malformed file. */
export function fileCorrupt(reason: string): CacheError {
  return new CacheError(CacheErrorCode.E_CORRUPT_ENTRY, `stored entry is corrupt: ${reason}`);
}
