import { afterEach, describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CacheErrorCode } from '../cache.errors.js';
import { FsFixture, WarningLogger, codeOf, fileOf, mkfifo } from '../../test/filesystem-harness.js';
import { waitFor } from '../../test/wait-for.js';

const fx = new FsFixture();
afterEach(() => fx.cleanup());

/** More FIFOs than libuv has threads: were each to block one, all file I/O would stop. */
const FIFO_COUNT = Number(process.env.UV_THREADPOOL_SIZE ?? 4) + 2;

/** Opens each FIFO for writing without blocking, which ends any read blocked on it, and removes it. */
function releaseFifos(files: readonly string[]): void {
  for (const file of files) {
    try {
      fs.closeSync(fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    } catch {
      // No reader (ENXIO) or already removed: nothing is blocked on it.
    }
    fs.rmSync(file, { force: true });
  }
}

/** 'read' when an unrelated file read finishes within `ms`, 'blocked' otherwise. */
async function unrelatedRead(ms = 2_000): Promise<'read' | 'blocked'> {
  let timer: NodeJS.Timeout | undefined;
  const blocked = new Promise<'blocked'>((resolve) => {
    timer = setTimeout(() => resolve('blocked'), ms);
  });
  const read = fs.promises.readFile(new URL(import.meta.url)).then(() => 'read' as const);
  try {
    return await Promise.race([read, blocked]);
  } finally {
    clearTimeout(timer);
  }
}

describe('FilesystemStore: a FIFO named like an entry', () => {
  it('reads it as a bad entry without blocking a thread, and removes it', async () => {
    const dir = fx.tempDir();
    const backend = await fx.open(dir);
    const fifos = Array.from({ length: FIFO_COUNT }, (_, i) => fileOf(dir, `ns:fifo:${i}`));
    fifos.forEach(mkfifo);
    try {
      const reads = fifos.map((_, i) => codeOf(() => backend.get(`ns:fifo:${i}`)));
      expect(await unrelatedRead()).toBe('read');
      expect(await Promise.all(reads)).toEqual(fifos.map(() => CacheErrorCode.E_CORRUPT_ENTRY));
      for (const file of fifos) expect(fs.existsSync(file)).toBe(false);
    } finally {
      releaseFifos(fifos);
    }
  });

  it('does not block pattern deletes, tag deletes or prunes either', async () => {
    const dir = fx.tempDir();
    const backend = await fx.open(dir);
    await backend.set('ns:real', fx.entry('real', ['ns:t']), 10_000);
    const fifos = Array.from({ length: FIFO_COUNT }, (_, i) => fileOf(dir, `ns:fifo:${i}`));
    fifos.forEach(mkfifo);
    try {
      const pattern = backend.deletePattern('ns:nothing:*');
      const prune = backend.store.prune();
      expect(await unrelatedRead()).toBe('read');
      expect(await pattern).toBe(0);
      await prune;
      expect(await backend.deleteByTags(['ns:t'])).toBe(1);
      for (const file of fifos) expect(fs.existsSync(file)).toBe(false);
    } finally {
      releaseFifos(fifos);
    }
  });
});

describe('FilesystemStore: its directory deleted at runtime', () => {
  it('reads misses meanwhile, applies invalidations, and creates it again on the next write', async () => {
    const dir = path.join(fx.tempDir(), 'cache');
    const backend = await fx.open(dir);
    await backend.set('ns:a', fx.entry('a', ['ns:t']), 10_000);
    fs.rmSync(dir, { recursive: true });

    expect(await backend.get('ns:a')).toBeUndefined();
    expect(await backend.deletePattern('ns:*')).toBe(0);
    expect(await backend.deleteByTags(['ns:t'])).toBe(0);
    expect(await backend.delete(['ns:a'])).toBe(0);

    await backend.set('ns:b', fx.entry('b', ['ns:t']), 10_000);
    expect((await backend.get('ns:b'))?.value).toBe('b');
    expect(await backend.deleteByTags(['ns:t'])).toBe(1);
  });

  it('is created again by a health probe and by a prune too', async () => {
    const dir = path.join(fx.tempDir(), 'cache');
    const backend = await fx.open(dir);
    fs.rmSync(dir, { recursive: true });
    expect(await backend.ping()).toBeGreaterThanOrEqual(0);
    expect(fs.existsSync(dir)).toBe(true);
    fs.rmSync(dir, { recursive: true });
    await backend.store.prune();
    expect(fs.existsSync(path.join(dir, '.tags', '.complete'))).toBe(true);
  });
});

describe('FilesystemStore: files named like entries that are not entries', () => {
  it('skips one it can neither read nor remove, once, and applies every invalidation', async () => {
    const logger = new WarningLogger();
    const dir = fx.tempDir();
    const backend = await fx.open(dir, { logger });
    await backend.set('ns:a:1', fx.entry(1, ['ns:t']), 10_000);
    await backend.set('ns:a:2', fx.entry(2, ['ns:t']), 10_000);
    const full = fileOf(dir, 'ns:a:full');
    fs.mkdirSync(full);
    fs.writeFileSync(path.join(full, 'inside'), 'x');
    const empty = fileOf(dir, 'ns:a:empty');
    fs.mkdirSync(empty);

    expect(await backend.deletePattern('ns:a:*')).toBe(2);
    expect(fs.existsSync(empty)).toBe(false);
    expect(fs.existsSync(full)).toBe(true);
    expect(backend.details()).toMatchObject({ skippedEntries: 1, undeletableEntries: 0 });

    await backend.set('ns:a:3', fx.entry(3, ['ns:t']), 10_000);
    expect(await backend.deletePattern('ns:*')).toBe(1);
    await backend.set('ns:a:4', fx.entry(4, ['ns:t']), 10_000);
    expect(await backend.deleteByTags(['ns:t'])).toBe(1);
    expect(await backend.delete(['ns:a:full'])).toBe(0);
    expect(await codeOf(() => backend.get('ns:a:full'))).toBe(CacheErrorCode.E_CORRUPT_ENTRY);
    await backend.clear('ns:');
    await backend.store.prune();
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toContain(path.basename(full));
    expect(await backend.ping()).toBeGreaterThanOrEqual(0); // it can apply invalidations

    // Once the operator removed it, an entry another process writes under that name is found.
    fs.rmSync(full, { recursive: true });
    await (await fx.open(dir)).set('ns:a:full', fx.entry('back'), 10_000);
    expect(await backend.deletePattern('ns:a:*')).toBe(1);
    expect(backend.details()).toMatchObject({ skippedEntries: 0 });
  });

  const immutable = canMakeImmutable();
  (immutable ? it : it.skip)(
    'fails the invalidation of an entry it can read but not remove, and reports it to health',
    async () => {
      const dir = fx.tempDir();
      const backend = await fx.open(dir);
      await backend.set('ns:k', fx.entry('v'), 10_000);
      const file = fileOf(dir, 'ns:k');
      execFileSync('chattr', ['+i', file]);
      try {
        expect(await codeOf(() => backend.delete(['ns:k']))).toBe(CacheErrorCode.E_BACKEND_ERROR);
        expect(await codeOf(() => backend.deletePattern('ns:*'))).toBe(
          CacheErrorCode.E_BACKEND_ERROR,
        );
        expect(backend.details()).toMatchObject({ undeletableEntries: 1 });
        expect(await codeOf(() => backend.ping())).toBe(CacheErrorCode.E_BACKEND_ERROR);
      } finally {
        execFileSync('chattr', ['-i', file]);
      }
      expect(await backend.delete(['ns:k'])).toBe(1);
      expect(await backend.ping()).toBeGreaterThanOrEqual(0);
    },
  );
});

describe('FilesystemStore: temp files left by writers that died', () => {
  it('removes them when it starts, and keeps those of running writers', async () => {
    const dir = fx.tempDir();
    const dead = path.join(dir, `.tmp-${deadPid()}-0-0123456789ab`);
    const mine = path.join(dir, `.tmp-${process.pid}-99-0123456789ab`); // an earlier process's
    const running = path.join(dir, '.tmp-1-0-0123456789ab');
    for (const file of [dead, mine, running]) fs.writeFileSync(file, 'partial');

    const backend = fx.backend(dir);
    await waitFor(() => !fs.existsSync(dead) && !fs.existsSync(mine), 'the start-up prune');
    expect(fs.existsSync(running)).toBe(true);
    expect(await backend.store.prune()).toEqual({ removed: 0, remaining: 0 });
  });
});

/** Whether `chattr +i` works here (root on a filesystem with attributes). */
function canMakeImmutable(): boolean {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntc-chattr-'));
  const file = path.join(dir, 'probe');
  fs.writeFileSync(file, '');
  try {
    execFileSync('chattr', ['+i', file], { stdio: 'ignore' });
    execFileSync('chattr', ['-i', file], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A process id that is not running. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid!;
}
