import { createHash, randomBytes } from 'node:crypto';
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
 * The key is kept so that the key index can be rebuilt from the files at start (pattern and prefix
 * deletes match keys in memory), and so that a hash collision on the file name reads as a miss
 * instead of another key's value.
 *
 * Next to the entries, `.tags/` holds one empty marker file per (tag, entry): `<sha256(tag)>.<sha256
 * (key)>`, written before the entry itself, so a tag delete lists one directory instead of reading
 * every entry. `.tags/.complete` says that every tagged entry has its marker (written by a prune that
 * checked them all); without it, tag deletes read every entry.
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
/** Prefix of the token a prune leaves in {@link TAGS_DIR} while it checks every marker. */
export const TOKEN_PREFIX = '.pruning-';
/** Subdirectory of the tag markers. */
export const TAGS_DIR = '.tags';
/** In {@link TAGS_DIR}: present once a prune made sure every tagged entry has its marker. */
export const TAGS_COMPLETE = '.complete';
/** Length of a SHA-256 in hex: an entry file name without its suffix, and a tag's marker prefix. */
const HASH_HEX = 64;

/** The file name of a key: its SHA-256 in hex, so no key can name a path outside the directory. */
export function entryFileName(key: string): string {
  return `${createHash('sha256').update(key, 'utf8').digest('hex')}${ENTRY_SUFFIX}`;
}

/** The SHA-256 of a tag in hex: the first part of its markers' names. */
export function tagHash(tag: string): string {
  return createHash('sha256').update(tag, 'utf8').digest('hex');
}

/** The marker file name of one tag (by its {@link tagHash}) of one entry file. */
export function markerName(hashOfTag: string, entryName: string): string {
  return `${hashOfTag}.${entryName.slice(0, HASH_HEX)}`;
}

/** The tag hash and entry file name of a marker; undefined for any other name. */
export function parseMarkerName(name: string): { tagHash: string; entryName: string } | undefined {
  if (name.length !== HASH_HEX * 2 + 1 || name[HASH_HEX] !== '.') return undefined;
  return {
    tagHash: name.slice(0, HASH_HEX),
    entryName: `${name.slice(HASH_HEX + 1)}${ENTRY_SUFFIX}`,
  };
}

/** A name for a temp or probe file of this process: `<prefix><pid>-<counter>-<random>`. */
export function scratchFileName(prefix: string, counter: number): string {
  return `${prefix}${process.pid}-${counter}-${randomBytes(6).toString('hex')}`;
}

/** Prefixes of the files named by {@link scratchFileName}. */
const SCRATCH_PREFIXES = [TEMP_PREFIX, PROBE_PREFIX, TOKEN_PREFIX];

/** True for a temp, probe or token file name. */
export function isScratchFile(name: string): boolean {
  return SCRATCH_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** The id of the process that made a temp, probe or token file, from its name; undefined if none. */
export function scratchFileOwner(name: string): number | undefined {
  const prefix = SCRATCH_PREFIXES.find((candidate) => name.startsWith(candidate));
  if (prefix === undefined) return undefined;
  const pid = Number(name.slice(prefix.length, name.indexOf('-', prefix.length)));
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
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
