import type { LoggerService } from '@nestjs/common';
import { mkdirSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { CacheError, CacheErrorCode, toCacheError } from '../cache.errors.js';
import type { ByteStore } from '../interfaces/byte-store.interface.js';
import { globToRegExp, isLiteralGlob } from '../keys/glob.js';
import { readEntryHeader } from '../serialization/entry-codec.js';
import { EntryDir } from './filesystem-dir.js';
import {
  errorCode,
  isCorrupt,
  isNotFound,
  probeFile,
  readFileBytes,
  unlinkFile,
} from './filesystem-files.js';
import {
  FILE_PREFIX_BYTES,
  PROBE_PREFIX,
  TEMP_PREFIX,
  encodeFile,
  entryFileName,
  parseFile,
  scratchFileName,
} from './filesystem-format.js';
import { pruneDirectory, type PruneResult } from './filesystem-prune.js';
import { TagMarkers } from './filesystem-tags.js';

export type { PruneResult } from './filesystem-prune.js';

/** Options of {@link FilesystemStore}. */
export interface FilesystemStoreOptions {
  /** Directory of the entry files; created (with its parents) when missing, also at runtime. */
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
  /** Told, once, about files named like entries that can be neither read nor removed. */
  logger?: LoggerService;
}

/**
 * One file per entry in `dir`, named by the SHA-256 of the key, so entries survive restarts and
 * can be shared by processes on the same machine; a byte store under the serializing adapter,
 * which also reads each entry envelope's header (expiry, tags) to prune and to delete by tag.
 *
 * Writes go to a temp file renamed over the entry, so no reader ever sees a torn file; a write that
 * fails removes the entry it was replacing. Pattern and prefix deletes match keys from an
 * in-memory index (`EntryDir`), tag deletes list the tag markers of `.tags/` (`TagMarkers`): neither
 * reads every file. Files are opened without blocking and checked to be regular files, so a FIFO
 * or a directory named like an entry cannot stall a thread or fail an invalidation. A directory
 * deleted at runtime is created again. Expired, corrupt and excess entries (beyond `maxEntries`)
 * and abandoned temp files are removed by a background prune, never on the request path.
 */
export class FilesystemStore implements ByteStore {
  readonly name = 'filesystem';
  readonly synchronous = false;
  private readonly files: EntryDir;
  private readonly tags: TagMarkers;
  private readonly maxEntries: number;
  private readonly maxEntryBytes: number;
  private readonly clock: () => number;
  private readonly interval: NodeJS.Timeout;
  /** Temp and probe files being written by this process (the prune leaves them alone). */
  private readonly inflight = new Set<string>();
  private scheduled: NodeJS.Timeout | undefined;
  private pruning: Promise<PruneResult> | undefined;
  private writesSincePrune = 0;
  private scratchFiles = 0;
  private diskFullWrites = 0;
  private lastCount: number | undefined;
  private closed = false;

  constructor(options: FilesystemStoreOptions) {
    this.files = new EntryDir(options);
    this.tags = new TagMarkers(this.files);
    this.maxEntries = options.maxEntries;
    this.maxEntryBytes = options.maxEntryBytes;
    this.clock = options.clock;
    mkdirSync(this.files.path, { recursive: true });
    try {
      mkdirSync(this.files.tagsPath);
    } catch {
      // It exists, or cannot be made now (a read-only directory): writes and prunes make it.
    }
    this.interval = setInterval(() => this.backgroundPrune(), options.pruneIntervalMs).unref();
    // The start-up prune removes what dead writers left, learns every key and checks the markers.
    this.schedulePrune();
  }

  /**
   * Reads the entry envelope of `key`; a miss when absent, expired (left to the pruner: deleting it
   * here could race a fresh write of the key) or a file of another key with the same hash.
   * Throws `E_CORRUPT_ENTRY` on a malformed or oversized file, or one that is not a regular file
   * (the adapter then deletes it).
   */
  async getBytes(key: string): Promise<Buffer | undefined> {
    const keyBytes = Buffer.from(key, 'utf8');
    let bytes: Buffer | undefined;
    try {
      bytes = (
        await readFileBytes(
          this.files.file(entryFileName(key)),
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

  /**
   * Writes the entry: its tag markers first, then a temp file renamed over the entry. On failure
   * (disk full...) the temp file and the entry it was replacing are removed, so an out-of-date
   * value is never served; ENOSPC and EDQUOT are counted (`diskFullWrites` in the health details).
   */
  async setBytes(
    key: string,
    envelope: Buffer,
    _ttlMs: number,
    tags: readonly string[],
  ): Promise<void> {
    const bytes = encodeFile(key, envelope);
    const name = entryFileName(key);
    const markers = this.tags.markersOf(tags, name);
    const temp = scratchFileName(TEMP_PREFIX, this.scratchFiles++);
    const tempPath = this.files.file(temp);
    this.inflight.add(temp);
    try {
      await this.recreatingDir(
        async () => {
          // The markers must exist before the entry does; the temp file is written meanwhile.
          const failed = (
            await Promise.allSettled([
              writeFile(tempPath, bytes, { flag: 'wx', mode: 0o600 }),
              this.tags.create(markers),
            ])
          ).find((result) => result.status === 'rejected');
          if (failed !== undefined) throw failed.reason;
          await rename(tempPath, this.files.file(name));
        },
        () => unlinkFile(tempPath),
      );
      this.files.remember(name, key);
      await this.tags.keep(markers);
    } catch (err) {
      await unlinkFile(tempPath).catch(() => false);
      await this.files.removeEntry(name).catch(() => false);
      const code = errorCode(err);
      if (code === 'ENOSPC' || code === 'EDQUOT') this.diskFullWrites++;
      throw toCacheError(err, CacheErrorCode.E_BACKEND_ERROR, 'filesystem write failed');
    } finally {
      this.inflight.delete(temp);
    }
    if (++this.writesSincePrune > Math.max(10, this.maxEntries / 10)) this.schedulePrune();
  }

  async delete(keys: readonly string[]): Promise<number> {
    try {
      return await this.files.removeAll([...new Set(keys)].map((key) => [entryFileName(key), key]));
    } catch (err) {
      throw toCacheError(err, CacheErrorCode.E_BACKEND_ERROR, 'filesystem delete failed');
    }
  }

  async deletePattern(glob: string): Promise<number> {
    if (isLiteralGlob(glob)) return this.delete([glob.replace(/\\([\s\S])/g, '$1')]);
    const pattern = globToRegExp(glob);
    return this.removeMatching((key) => pattern.test(key));
  }

  /** Removes the entries carrying any of `tags`, found through their markers (`TagMarkers`). */
  async deleteByTags(tags: readonly string[]): Promise<number> {
    const wanted = new Set(tags);
    if (wanted.size === 0) return 0;
    try {
      const { removed, complete } = await this.tags.removeTagged(wanted);
      if (!complete) this.schedulePrune(); // it repairs the markers
      return removed;
    } catch (err) {
      throw toCacheError(err, CacheErrorCode.E_BACKEND_ERROR, 'filesystem delete failed');
    }
  }

  async clear(prefix: string): Promise<void> {
    await this.removeMatching((key) => key.startsWith(prefix));
    this.schedulePrune(); // drops the markers of the entries that went
  }

  /**
   * A write, read and removal of a probe file. Rejects while an entry that an invalidation had to
   * remove is still there (it can be read but not removed): the tier cannot apply invalidations.
   */
  async ping(): Promise<number> {
    const started = performance.now();
    const undeletable = await this.files.undeletableNow();
    if (undeletable.length > 0) {
      throw new CacheError(
        CacheErrorCode.E_BACKEND_ERROR,
        `filesystem tier cannot apply invalidations: ${undeletable.length} entry file(s) can be read but not removed, e.g. ${undeletable[0]}`,
      );
    }
    const probe = scratchFileName(PROBE_PREFIX, this.scratchFiles++);
    this.inflight.add(probe);
    try {
      await this.recreatingDir(() => probeFile(this.files.file(probe)));
    } catch (err) {
      throw toCacheError(err, CacheErrorCode.E_BACKEND_ERROR, 'filesystem ping failed');
    } finally {
      this.inflight.delete(probe);
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
   * For health checks: files named like entries that invalidations skip (neither readable nor
   * removable), readable entries an invalidation could not remove, and writes refused for lack
   * of space since start.
   */
  details(): Record<string, unknown> {
    return { ...this.files.counts(), diskFullWrites: this.diskFullWrites };
  }

  /**
   * Removes expired and corrupt entries, leftover temp files, and the entries closest to expiry
   * beyond `maxEntries`; checks the tag markers. Waits for a prune already running, then runs a
   * fresh one; a pending scheduled prune is superseded. Never rejects: errors leave files for the
   * next prune.
   */
  async prune(): Promise<PruneResult> {
    if (this.scheduled !== undefined) clearTimeout(this.scheduled);
    this.scheduled = undefined;
    while (this.pruning !== undefined) await this.pruning;
    this.writesSincePrune = 0;
    const run = pruneDirectory(this.files, this.tags, {
      now: this.clock(),
      maxEntries: this.maxEntries,
      inflight: this.inflight,
    }).then(
      (result) => ((this.lastCount = result.remaining), result),
      (): PruneResult => ({ removed: 0, remaining: this.lastCount ?? 0 }),
    );
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

  /**
   * Runs `write`; when it fails with ENOENT (the directory was deleted), creates the directory,
   * runs `cleanUp` (what the first try may have left) and `write` again.
   */
  private async recreatingDir<T>(
    write: () => Promise<T>,
    cleanUp?: () => Promise<unknown>,
  ): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.files.ensure();
      await cleanUp?.();
      this.schedulePrune(); // checks the tag markers again
      return await write();
    }
  }

  /** Removes the entries whose key `match` accepts, found through the key index. */
  private async removeMatching(match: (key: string) => boolean): Promise<number> {
    // Until the start-up prune has read every entry's head, the index is empty: let it do so once.
    if (this.lastCount === undefined) await (this.pruning ?? this.prune());
    let entries: Array<[string, string]>;
    try {
      entries = await this.files.entries();
    } catch (err) {
      throw toCacheError(err, CacheErrorCode.E_BACKEND_ERROR, 'filesystem scan failed');
    }
    try {
      return await this.files.removeAll(entries.filter(([, key]) => match(key)));
    } catch (err) {
      throw toCacheError(err, CacheErrorCode.E_BACKEND_ERROR, 'filesystem delete failed');
    }
  }
}
