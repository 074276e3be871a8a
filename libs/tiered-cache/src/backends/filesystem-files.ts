import { open, unlink } from 'node:fs/promises';
import { CacheError, CacheErrorCode } from '../cache.errors.js';
import { readEntryHeader, type EntryHeader } from '../serialization/entry-codec.js';
import {
  FILE_PREFIX_BYTES,
  MAX_FILE_KEY_BYTES,
  fileCorrupt,
  parseFile,
} from './filesystem-format.js';

/** Bytes read first when only an entry's key and header are needed. */
const HEAD_CHUNK_BYTES = 4096;

/** The key and envelope header of an entry file, read without its value. */
export interface FileHead {
  readonly key: string;
  readonly header: EntryHeader;
}

/**
 * Reads a file (or its first `headBytes`) from one open handle; `undefined` when it does not
 * exist. A file larger than `limit` bytes is corrupt (`E_CORRUPT_ENTRY`), and is never read.
 */
export async function readFileBytes(
  path: string,
  limit: number,
  headBytes = Infinity,
): Promise<{ buf: Buffer; complete: boolean } | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  try {
    const { size } = await handle.stat();
    if (size > limit) throw fileCorrupt(`file of ${size} bytes exceeds the ${limit}-byte limit`);
    const buf = Buffer.allocUnsafe(Math.min(size, headBytes));
    let length = 0;
    while (length < buf.length) {
      const { bytesRead } = await handle.read(buf, length, buf.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return { buf: buf.subarray(0, length), complete: length === size };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * Reads an entry file's key and header, from its first chunk when that is enough; `undefined`
 * when the file is gone. Throws `E_CORRUPT_ENTRY` on a malformed file.
 */
export async function readEntryHead(
  path: string,
  maxEntryBytes: number,
): Promise<FileHead | undefined> {
  const limit = FILE_PREFIX_BYTES + MAX_FILE_KEY_BYTES + maxEntryBytes;
  const first = await readFileBytes(path, limit, HEAD_CHUNK_BYTES);
  if (first === undefined) return undefined;
  try {
    return parseHead(first.buf, maxEntryBytes);
  } catch (err) {
    if (first.complete) throw err;
  }
  const whole = await readFileBytes(path, limit);
  return whole === undefined ? undefined : parseHead(whole.buf, maxEntryBytes);
}

function parseHead(buf: Buffer, maxEntryBytes: number): FileHead {
  const { keyBytes, envelope } = parseFile(buf);
  return { key: keyBytes.toString('utf8'), header: readEntryHeader(envelope, maxEntryBytes) };
}

/** Removes a file: true when it existed, false when it did not. */
export async function unlinkFile(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/** True for a `CacheError` with code `E_CORRUPT_ENTRY`. */
export function isCorrupt(err: unknown): boolean {
  return err instanceof CacheError && err.code === CacheErrorCode.E_CORRUPT_ENTRY;
}

/** Runs `fn` over `items`, at most `limit` at a time; `fn` must not reject. */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
