import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, open, unlink, writeFile } from 'node:fs/promises';
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
/**
 * Never wait on a FIFO or a device (O_NONBLOCK: an open that would block a libuv thread fails or
 * returns at once), never follow a symbolic link (O_NOFOLLOW). Both are 0 where undefined (Windows).
 */
const SAFE_FLAGS = (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0);
/** Opening an entry to read it. */
const READ_FLAGS = constants.O_RDONLY | SAFE_FLAGS;
/** Creating (or opening) an empty marker file. */
const TOUCH_FLAGS = constants.O_WRONLY | constants.O_CREAT | SAFE_FLAGS;
/** Open failures that concern that one file, not the directory: a link, a socket, no permission. */
const UNREADABLE_CODES: ReadonlySet<string> = new Set([
  'ELOOP',
  'EMLINK',
  'ENXIO',
  'EACCES',
  'EPERM',
]);

/** The key and envelope header of an entry file, read without its value. */
export interface FileHead {
  readonly key: string;
  readonly header: EntryHeader;
}

/**
 * Reads a file (or its first `headBytes`) from one open handle; `undefined` when it does not
 * exist. It is opened without blocking and without following links, and must be a regular file:
 * anything else (a directory, a FIFO, a socket, a link), a file this process may not read and a
 * file larger than `limit` bytes are `E_CORRUPT_ENTRY`, and never read.
 */
export async function readFileBytes(
  path: string,
  limit: number,
  headBytes = Infinity,
): Promise<{ buf: Buffer; complete: boolean } | undefined> {
  let handle;
  try {
    handle = await open(path, READ_FLAGS);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    if (UNREADABLE_CODES.has(errorCode(err) ?? ''))
      throw fileCorrupt(`cannot be read (${errorCode(err)})`);
    throw err;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw fileCorrupt(`not a regular file (${fileKind(stats)})`);
    const { size } = stats;
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
 * when the file is gone. Throws `E_CORRUPT_ENTRY` on a malformed file or one that is not an entry.
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

/**
 * Creates an empty file (mode 0600) unless it exists. As reads do, it never blocks on a FIFO nor
 * follows a link; a directory, a socket or a link at `path` makes it throw.
 */
export async function touchFile(path: string): Promise<void> {
  await (await open(path, TOUCH_FLAGS, 0o600)).close();
}

/**
 * Writes a new file of random bytes at `path`, reads it back and removes it (a health probe);
 * rejects when any step fails or the bytes differ, having removed the file.
 */
export async function probeFile(path: string): Promise<void> {
  const payload = randomBytes(16);
  try {
    await writeFile(path, payload, { flag: 'wx', mode: 0o600 });
    const read = await readFileBytes(path, payload.length);
    if (read === undefined || !read.buf.equals(payload))
      throw new Error('probe file read back different bytes');
  } finally {
    await unlinkFile(path).catch(() => false);
  }
}

/** True when something exists at `path` (links not followed). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
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

/** True when the process `pid` may still run (it exists, maybe under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errorCode(err) === 'EPERM';
  }
}

/** What a file that is not a regular file is, for messages. */
export function fileKind(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return stats.isFile() ? 'a regular file' : 'unknown';
}

/** The `code` of a Node.js system error, if any. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True for ENOENT. */
export function isNotFound(err: unknown): boolean {
  return errorCode(err) === 'ENOENT';
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
