import { afterEach, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import { CacheErrorCode } from '../cache.errors.js';
import { FsFixture, codeOf, fileOf, mkfifo } from '../../test/filesystem-harness.js';

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
