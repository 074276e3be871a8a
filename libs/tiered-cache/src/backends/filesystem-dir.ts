import type { LoggerService } from '@nestjs/common';
import { lstat, mkdir, readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  errorCode,
  forEachLimit,
  isCorrupt,
  isNotFound,
  readEntryHead,
  unlinkFile,
  type FileHead,
} from './filesystem-files.js';
import { ENTRY_SUFFIX, TAGS_DIR, entryFileName, fileCorrupt } from './filesystem-format.js';

/** Files handled at once by scans, prunes and bulk deletes. */
export const SCAN_CONCURRENCY = 16;
/** A given kind of problem is logged at most once per this many ms, with a count of the rest. */
const LOG_INTERVAL_MS = 60_000;

/** Options of {@link EntryDir}. */
export interface EntryDirOptions {
  readonly dir: string;
  readonly maxEntryBytes: number;
  /** Epoch ms, for log throttling. */
  readonly clock: () => number;
  /** Told (rarely) about entry files that invalidations have to skip; never about values. */
  readonly logger?: LoggerService;
}

/**
 * The entry files of one directory as the invalidations see them: the in-memory key index (file
 * name to key; a name's key never changes, since the name is the key's SHA-256), rebuilt from the
 * files themselves (`entries()` reads the head of every name it does not know yet, so entries of
 * other processes sharing the directory are found too), and the files that are not entries.
 *
 * A name that is neither a readable entry nor removable (a non-empty directory named like an entry,
 * a file of another user in a sticky directory) is skipped: this process can never serve it, so no
 * invalidation needs it gone; it is counted and logged once. An entry that can be read but not
 * removed fails the invalidation and is reported by {@link undeletableNow} until it is gone.
 */
export class EntryDir {
  /** The entries directory. */
  readonly path: string;
  /** The tag markers' directory, inside it. */
  readonly tagsPath: string;
  private readonly maxEntryBytes: number;
  private readonly clock: () => number;
  private readonly logger: LoggerService | undefined;
  private readonly keys = new Map<string, string>();
  /** Skipped names, with the `lstat` signature they had (a change gets them read again). */
  private readonly skipped = new Map<string, string>();
  private readonly undeletable = new Map<string, string>();
  private lastLog: { at: number; suppressed: number } | undefined;

  constructor(options: EntryDirOptions) {
    this.path = options.dir;
    this.tagsPath = join(options.dir, TAGS_DIR);
    this.maxEntryBytes = options.maxEntryBytes;
    this.clock = options.clock;
    this.logger = options.logger;
  }

  /** The path of a file of the directory. */
  file(name: string): string {
    return join(this.path, name);
  }

  /** Creates the directory and its tags directory when missing (after a deletion at runtime too). */
  async ensure(): Promise<void> {
    await mkdir(this.tagsPath, { recursive: true });
  }

  /** Every name in the directory; none when the directory is gone (its entries went with it). */
  async list(): Promise<string[]> {
    try {
      return await readdir(this.path);
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  }

  /** Notes the key of an entry file just written. */
  remember(name: string, key: string): void {
    this.keys.set(name, key);
    this.skipped.delete(name);
  }

  /** Drops what is known of a name that no longer holds an entry. */
  forget(name: string): void {
    this.keys.delete(name);
    this.skipped.delete(name);
    this.undeletable.delete(name);
  }

  /**
   * The `[file name, key]` of every entry file present now, from the index; names not in it are
   * read (their head only) and learnt, corrupt ones removed, unreadable ones removed or skipped.
   */
  async entries(): Promise<Array<[string, string]>> {
    const names = (await this.list()).filter((name) => name.endsWith(ENTRY_SUFFIX));
    const present = new Set(names);
    for (const known of [this.keys, this.skipped, this.undeletable])
      for (const name of known.keys()) if (!present.has(name)) known.delete(name);
    const unknown: string[] = [];
    await forEachLimit(
      names.filter((name) => !this.keys.has(name)),
      SCAN_CONCURRENCY,
      async (name) => {
        if (!(await this.stillSkipped(name))) unknown.push(name);
      },
    );
    let failure: unknown;
    await forEachLimit(unknown, SCAN_CONCURRENCY, async (name) => {
      try {
        await this.headOf(name);
      } catch (err) {
        failure ??= err;
      }
    });
    if (failure !== undefined) throw failure;
    const found: Array<[string, string]> = [];
    for (const name of names) {
      const key = this.keys.get(name);
      if (key !== undefined) found.push([name, key]);
    }
    return found;
  }

  /**
   * Reads an entry file's key and header and learns its key; `undefined` when it is gone, or was
   * not an entry (corrupt, of another key, not a regular file...) and was removed (`onRemoved` is
   * then called) or skipped. Rejects on other read errors.
   */
  async headOf(name: string, onRemoved?: () => void): Promise<FileHead | undefined> {
    let head: FileHead | undefined;
    try {
      head = await readEntryHead(this.file(name), this.maxEntryBytes);
      if (head !== undefined && entryFileName(head.key) !== name)
        throw fileCorrupt('file holds another key');
    } catch (err) {
      if (!isCorrupt(err)) throw err;
      if (await this.removeEntry(name)) onRemoved?.();
      return undefined;
    }
    if (head === undefined) {
      this.forget(name);
      return undefined;
    }
    this.keys.set(name, head.key);
    this.skipped.delete(name);
    return head;
  }

  /**
   * Removes an entry file: true when a file went. A directory named like an entry is removed when
   * empty; a name this process can neither read as an entry nor remove is skipped (false). An entry
   * it can read but not remove rejects: that invalidation cannot be applied.
   */
  async removeEntry(name: string): Promise<boolean> {
    const path = this.file(name);
    try {
      const removed = await unlinkFile(path);
      this.forget(name);
      return removed;
    } catch (err) {
      const code = errorCode(err) ?? 'error';
      const stats = await lstat(path).catch(() => undefined);
      if (stats === undefined) {
        this.forget(name);
        return false;
      }
      if (stats.isDirectory()) {
        const emptied = await rmdir(path).then(
          () => true,
          () => false,
        );
        if (emptied) this.forget(name);
        else await this.skip(name, 'a directory');
        return emptied;
      }
      if (!(await this.servable(name))) {
        await this.skip(name, code);
        return false;
      }
      this.undeletable.set(name, code);
      throw err;
    }
  }

  /**
   * Removes the entry files of `[file name, key]` pairs; resolves to how many distinct keys went.
   * Tries every one, then rejects with the first failure, if any.
   */
  async removeAll(entries: ReadonlyArray<readonly [string, string]>): Promise<number> {
    const removed = new Set<string>();
    let failure: unknown;
    await forEachLimit(entries, SCAN_CONCURRENCY, async ([name, key]) => {
      try {
        if (await this.removeEntry(name)) removed.add(key);
      } catch (err) {
        failure ??= err;
      }
    });
    if (failure !== undefined) throw failure;
    return removed.size;
  }

  /** Readable entries that an invalidation could not remove and that are still there. */
  async undeletableNow(): Promise<string[]> {
    const still: string[] = [];
    for (const [name, code] of this.undeletable) {
      if (
        await lstat(this.file(name)).then(
          () => true,
          () => false,
        )
      )
        still.push(`${name} (${code})`);
      else this.undeletable.delete(name);
    }
    return still;
  }

  /** Counts for health details: skipped names, and readable entries that could not be removed. */
  counts(): { skippedEntries: number; undeletableEntries: number } {
    return { skippedEntries: this.skipped.size, undeletableEntries: this.undeletable.size };
  }

  /** Whether this process could serve the file: it reads as an entry of its name's key. */
  private async servable(name: string): Promise<boolean> {
    try {
      const head = await readEntryHead(this.file(name), this.maxEntryBytes);
      return head !== undefined && entryFileName(head.key) === name;
    } catch {
      return false;
    }
  }

  /** True when `name` was skipped and has not changed since (same inode, type and mtime). */
  private async stillSkipped(name: string): Promise<boolean> {
    const signature = this.skipped.get(name);
    if (signature === undefined) return false;
    return signature === (await this.signature(name));
  }

  private async signature(name: string): Promise<string | undefined> {
    const stats = await lstat(this.file(name)).catch(() => undefined);
    return stats && `${stats.ino}:${stats.mode}:${stats.mtimeMs}`;
  }

  private async skip(name: string, why: string): Promise<void> {
    this.keys.delete(name);
    const known = this.skipped.has(name);
    this.skipped.set(name, (await this.signature(name)) ?? '');
    if (known) return;
    const now = this.clock();
    if (this.lastLog !== undefined && now - this.lastLog.at < LOG_INTERVAL_MS) {
      this.lastLog.suppressed++;
      return;
    }
    const more = this.lastLog?.suppressed ? ` (${this.lastLog.suppressed} more since)` : '';
    this.lastLog = { at: now, suppressed: 0 };
    this.logger?.warn(
      `filesystem tier: ${name} in ${this.path} is not a readable entry (${why}) and cannot be removed; invalidations skip it${more}`,
    );
  }
}
