import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LoggerService } from '@nestjs/common';
import { CacheError } from '../src/cache.errors.js';
import type { CacheEntry } from '../src/interfaces/cache-backend.interface.js';
import { FilesystemStore, type FilesystemStoreOptions } from '../src/backends/filesystem.store.js';
import { ByteStoreBackend } from '../src/serialization/byte-store-backend.js';

/** The filesystem store under the serializing adapter, as the `filesystem` backend builds it. */
export type FilesystemBackend = ByteStoreBackend<FilesystemStore>;

/** Real directories and backends of one test, removed by {@link FsFixture.cleanup}. */
export class FsFixture {
  readonly dirs: string[] = [];
  readonly backends: FilesystemBackend[] = [];
  now = 1_000_000;

  /** A fresh directory under the OS temp dir. */
  tempDir(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntc-fs-'));
    this.dirs.push(dir);
    return dir;
  }

  /** A backend on `dir` (not yet pruned: its start-up prune runs in the background). */
  backend(dir: string, options: Partial<FilesystemStoreOptions> = {}): FilesystemBackend {
    const settings: FilesystemStoreOptions = {
      dir,
      maxEntries: 100_000,
      pruneIntervalMs: 3_600_000,
      maxEntryBytes: 1024 * 1024,
      clock: () => this.now,
      ...options,
    };
    const backend = new ByteStoreBackend(new FilesystemStore(settings), settings);
    this.backends.push(backend);
    return backend;
  }

  /** A backend on `dir` with its start-up prune settled. */
  async open(dir: string, options: Partial<FilesystemStoreOptions> = {}) {
    const backend = this.backend(dir, options);
    await backend.store.prune();
    return backend;
  }

  entry(value: unknown, tags: string[] = [], ttlMs = 10_000): CacheEntry {
    return { value, expiresAt: this.now + ttlMs, staleUntil: this.now + ttlMs, tags };
  }

  async cleanup(): Promise<void> {
    for (const backend of this.backends.splice(0)) await backend.close();
    for (const dir of this.dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The path of `key`'s entry file in `dir`. */
export function fileOf(dir: string, key: string): string {
  return path.join(dir, `${createHash('sha256').update(key, 'utf8').digest('hex')}.entry`);
}

/** Makes a FIFO at `file` (there is no mkfifo in Node's fs). */
export function mkfifo(file: string): void {
  execFileSync('mkfifo', ['-m', '600', file]);
}

/** The code of the CacheError `call` throws or rejects with; undefined when it succeeds. */
export async function codeOf(call: () => unknown): Promise<string | undefined> {
  try {
    await call();
    return undefined;
  } catch (err) {
    if (!(err instanceof CacheError)) throw err;
    return err.code;
  }
}

/** A logger keeping warnings, for "logged once" assertions. */
export class WarningLogger implements LoggerService {
  readonly warnings: string[] = [];
  log(): void {}
  error(message: unknown): void {
    this.warnings.push(String(message));
  }
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}
