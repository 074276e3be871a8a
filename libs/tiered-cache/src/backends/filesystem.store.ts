import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CacheErrorCode, toCacheError } from '../cache.errors.js';
import type { ByteStore } from '../interfaces/byte-store.interface.js';
import { globToRegExp, isLiteralGlob } from '../keys/glob.js';
import { readEntryHeader } from '../serialization/entry-codec.js';
import {
  forEachLimit,
  isCorrupt,
  readEntryHead,
  readFileBytes,
  unlinkFile,
  type FileHead,
} from './filesystem-files.js';
import {
  ENTRY_SUFFIX,
  FILE_PREFIX_BYTES,
  PROBE_PREFIX,
  TEMP_PREFIX,
  encodeFile,
  entryFileName,
  parseFile,
} from './filesystem-format.js';

/** Options of {@link FilesystemStore}. */
export interface FilesystemStoreOptions {
  /** Directory of the entry files; created (with its parents) when missing. */
  dir: string;
  /** Most entries kept; beyond it, the pruner removes those with the earliest `staleUntil`. */
  maxEntries: number;
  /** Interval between background prunes, in milliseconds. */
  pruneIntervalMs: number;
  /**
   * Largest encoded entry read, in bytes (file header and key not counted): a larger file is
   * corrupt and never read. The serializing adapter above enforces the same limit on writes.
   */
  maxEntryBytes: number;
  /** The cache's clock, in epoch milliseconds; expiry is judged against it. */
  clock: () => number;
}

/** What one prune did: files removed, and entries left. */
export interface PruneResult {
  readonly removed: number;
  readonly remaining: number;
}

/** Age (by mtime, in ms) after which a leftover temp or probe file is removed. */
const STALE_TEMP_MS = 60_000;
/** Files handled at once by scans and prunes. */
const SCAN_CONCURRENCY = 16;

/**
 * One file per entry in `dir`, named by the SHA-256 of the key, so entries survive restarts and
 * can be shared by processes on the same machine; a byte store under the serializing adapter,
 * which also reads each entry envelope's header (expiry, tags) to prune and to delete by tag.
 * Writes go to a temp file renamed over the entry, so no reader ever sees a torn file. Expired,
 * corrupt and excess entries (beyond `maxEntries`) and abandoned temp files are removed by a
 * background prune, never on the request path.
 */
export class FilesystemStore implements ByteStore {
  readonly name = 'filesystem';
  readonly synchronous = false;
  private readonly dir: string;
  private readonly maxEntries: number;
  private readonly maxEntryBytes: number;
  private readonly clock: () => number;
  private readonly interval: NodeJS.Timeout;
  private scheduled: NodeJS.Timeout | undefined;
  private pruning: Promise<PruneResult> | undefined;
  private writesSincePrune = 0;
  private tempCounter = 0;
  private lastCount: number | undefined;
  private closed = false;

  constructor(options: FilesystemStoreOptions) {
    this.dir = options.dir;
    this.maxEntries = options.maxEntries;
    this.maxEntryBytes = options.maxEntryBytes;
    this.clock = options.clock;
    mkdirSync(this.dir, { recursive: true });
    this.interval = setInterval(() => this.backgroundPrune(), options.pruneIntervalMs).unref();
    this.schedulePrune();
  }

  /**
   * Reads the entry envelope of `key`; a miss when absent, expired (left to the pruner: deleting it
   * here could race a fresh write of the key) or a file of another key with the same hash.
   * Throws `E_CORRUPT_ENTRY` on a malformed or oversized file (the adapter then deletes it).
   */
  async getBytes(key: string): Promise<Buffer | undefined> {
    const keyBytes = Buffer.from(key, 'utf8');
    let bytes: Buffer | undefined;
    try {
      bytes = (
        await readFileBytes(
          join(this.dir, entryFileName(key)),
          FILE_PREFIX_BYTES + keyBytes.length + this.maxEntryBytes,
        )
      )?.buf;
    } catch (err) {
      if (isCorrupt(err)) throw err;
      throw toCacheError(err, CacheErrorCode.E_BACKEND_ERROR, 'filesystem read failed');
    }
    if (bytes === undefined) return undefined;
    const file = parseFile(bytes);
    if (!file.keyBytes.equals(keyBytes)) return undefined;
    const header = readEntryHeader(file.envelope, this.maxEntryBytes);
    return header.staleUntil <= this.clock() ? undefined : file.envelope;
  }

  async setBytes(
    key: string,
    envelope: Buffer,
    _ttlMs: number,
    _tags: readonly string[],
  ): Promise<void> {
    const bytes = encodeFile(key, envelope);
    const temp = join(
      this.dir,
      `${TEMP_PREFIX}${process.pid}-${this.tempCounter++}-${randomBytes(6).toString('hex')}`,
    );
    try {
      await writeFile(temp, bytes, { flag: 'wx', mode: 0o600 });
      await rename(temp, join(this.dir, entryFileName(key)));
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw toCacheError(err, CacheErrorCode.E_BACKEND_ERROR, 'filesystem write failed');
    }
    if (++this.writesSincePrune > Math.max(10, this.maxEntries / 10)) this.schedulePrune();
  }

  async delete(keys: readonly string[]): Promise<number> {
    let count = 0;
    let failure: unknown;
    await forEachLimit([...new Set(keys)], SCAN_CONCURRENCY, async (key) => {
      try {
        if (await this.unlinkFile(entryFileName(key))) count++;
      } catch (err) {
        failure ??= err;
      }
    });
    if (failure !== undefined)
      throw toCacheError(failure, CacheErrorCode.E_BACKEND_ERROR, 'filesystem delete failed');
    return count;
  }

  async deletePattern(glob: string): Promise<number> {
    if (isLiteralGlob(glob)) return this.delete([glob.replace(/\\([\s\S])/g, '$1')]);
    const pattern = globToRegExp(glob);
    return this.removeMatching((head) => pattern.test(head.key));
  }

  async deleteByTags(tags: readonly string[]): Promise<number> {
    const wanted = new Set(tags);
    if (wanted.size === 0) return 0;
    return this.removeMatching((head) => head.header.tags.some((tag) => wanted.has(tag)));
  }

  async clear(prefix: string): Promise<void> {
    await this.removeMatching((head) => head.key.startsWith(prefix));
  }

  async ping(): Promise<number> {
    const started = performance.now();
    const probe = join(this.dir, `${PROBE_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
    const payload = randomBytes(16);
    try {
      await writeFile(probe, payload, { flag: 'wx', mode: 0o600 });
      if (!(await readFile(probe)).equals(payload))
        throw new Error('probe file read back different bytes');
      await unlink(probe);
    } catch (err) {
      await unlink(probe).catch(() => undefined);
      throw toCacheError(err, CacheErrorCode.E_BACKEND_ERROR, 'filesystem ping failed');
    }
    return performance.now() - started;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.interval);
    if (this.scheduled !== undefined) clearTimeout(this.scheduled);
    this.scheduled = undefined;
    while (this.pruning !== undefined) await this.pruning;
  }

  /** Entries counted by the last prune; `undefined` before the first one. */
  size(): number | undefined {
    return this.lastCount;
  }

  /**
   * Removes expired and corrupt entries, temp files older than a minute, and the entries closest to
   * expiry beyond `maxEntries`. Waits for a prune already running, then runs a fresh one; a pending
   * scheduled prune is superseded. Never rejects: errors leave files for the next prune.
   */
  async prune(): Promise<PruneResult> {
    if (this.scheduled !== undefined) clearTimeout(this.scheduled);
    this.scheduled = undefined;
    while (this.pruning !== undefined) await this.pruning;
    const run = this.runPrune().catch((): PruneResult => ({
      removed: 0,
      remaining: this.lastCount ?? 0,
    }));
    this.pruning = run;
    try {
      return await run;
    } finally {
      if (this.pruning === run) this.pruning = undefined;
    }
  }

  private backgroundPrune(): void {
    if (!this.closed && this.pruning === undefined) void this.prune();
  }

  private schedulePrune(): void {
    if (this.closed || this.scheduled !== undefined) return;
    this.scheduled = setTimeout(() => {
      this.scheduled = undefined;
      this.backgroundPrune();
    }, 0).unref();
  }

  private async runPrune(): Promise<PruneResult> {
    this.writesSincePrune = 0;
    const now = this.clock();
    const names = await readdir(this.dir);
    const live: Array<{ name: string; staleUntil: number }> = [];
    let removed = 0;
    await forEachLimit(names, SCAN_CONCURRENCY, async (name) => {
      try {
        if (name.startsWith(TEMP_PREFIX) || name.startsWith(PROBE_PREFIX)) {
          const { mtimeMs } = await stat(join(this.dir, name));
          if (mtimeMs <= Date.now() - STALE_TEMP_MS && (await this.unlinkQuietly(name))) removed++;
          return;
        }
        if (!name.endsWith(ENTRY_SUFFIX)) return;
        let head: FileHead | undefined;
        try {
          head = await this.readHead(name);
        } catch (err) {
          if (isCorrupt(err) && (await this.unlinkQuietly(name))) removed++;
          return;
        }
        if (head === undefined) return;
        if (head.header.staleUntil <= now || entryFileName(head.key) !== name) {
          if (await this.unlinkQuietly(name)) removed++;
        } else {
          live.push({ name, staleUntil: head.header.staleUntil });
        }
      } catch {
        // Unreadable right now (vanished, permissions...): left for the next prune.
      }
    });
    if (live.length > this.maxEntries) {
      live.sort((a, b) => a.staleUntil - b.staleUntil);
      const excess = live.splice(0, live.length - this.maxEntries);
      await forEachLimit(excess, SCAN_CONCURRENCY, async ({ name }) => {
        if (await this.unlinkQuietly(name)) removed++;
      });
    }
    this.lastCount = live.length;
    return { removed, remaining: live.length };
  }

  /** Scans every entry file and removes those `match` accepts; resolves to how many keys went. */
  private async removeMatching(match: (head: FileHead) => boolean): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      throw toCacheError(err, CacheErrorCode.E_BACKEND_ERROR, 'filesystem scan failed');
    }
    const removed = new Set<string>();
    let failure: unknown;
    await forEachLimit(
      names.filter((name) => name.endsWith(ENTRY_SUFFIX)),
      SCAN_CONCURRENCY,
      async (name) => {
        try {
          const head = await this.readHead(name);
          if (head !== undefined && match(head) && (await this.unlinkFile(name)))
            removed.add(head.key);
        } catch (err) {
          if (isCorrupt(err)) await this.unlinkQuietly(name);
          else failure ??= err;
        }
      },
    );
    if (failure !== undefined)
      throw toCacheError(failure, CacheErrorCode.E_BACKEND_ERROR, 'filesystem delete failed');
    return removed.size;
  }

  /** Reads an entry file's key and header. */
  private readHead(name: string): Promise<FileHead | undefined> {
    return readEntryHead(join(this.dir, name), this.maxEntryBytes);
  }

  private unlinkFile(name: string): Promise<boolean> {
    return unlinkFile(join(this.dir, name));
  }

  private async unlinkQuietly(name: string): Promise<boolean> {
    return this.unlinkFile(name).catch(() => false);
  }
}
