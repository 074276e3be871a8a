import { afterEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CacheErrorCode } from '../src/cache.errors.js';
import { FsFixture, codeOf } from './filesystem-harness.js';

const fx = new FsFixture();
afterEach(() => fx.cleanup());

/** Temp and probe files in `dir`. */
function scratch(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((name) => name.startsWith('.tmp-') || name.startsWith('.probe-'));
}

describe('a full disk (a 1 MiB tmpfs)', () => {
  /** Mounts a 1 MiB tmpfs on a new directory; undefined where mounting is refused (not root). */
  function mountTmpfs(): string | undefined {
    const mountPoint = fs.mkdtempSync(path.join(os.tmpdir(), 'ntc-tmpfs-'));
    const args = ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint];
    if (spawnSync('mount', args, { stdio: 'ignore' }).status === 0) return mountPoint;
    fs.rmdirSync(mountPoint);
    return undefined;
  }

  function unmount(mountPoint: string): void {
    spawnSync('umount', [mountPoint]);
    fs.rmdirSync(mountPoint);
  }

  // Needs root (or CAP_SYS_ADMIN): skipped, and reported as skipped, where mounting is refused.
  const probe = mountTmpfs();
  if (probe !== undefined) unmount(probe);

  /** Appends to `file` until the filesystem is full. */
  function fillUp(file: string): void {
    const fd = fs.openSync(file, 'a');
    const chunk = Buffer.alloc(16 * 1024, 1);
    try {
      for (;;) fs.writeSync(fd, chunk);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    } finally {
      fs.closeSync(fd);
    }
  }

  (probe !== undefined ? it : it.skip)(
    'refuses writes without a trace, drops the value they replaced, and resumes once space is freed',
    async () => {
      const mountPoint = mountTmpfs()!;
      try {
        await fullDisk(mountPoint);
      } finally {
        await fx.cleanup();
        unmount(mountPoint);
      }
    },
  );

  async function fullDisk(mountPoint: string): Promise<void> {
    const dir = path.join(mountPoint, 'cache');
    const backend = await fx.open(dir);
    await backend.set('ns:keep', fx.entry('kept'), 10_000);
    await backend.set('ns:old', fx.entry({ v: 1 }, ['ns:t']), 10_000);
    const filler = path.join(mountPoint, 'filler');
    fillUp(filler);

    const big = { v: 2, pad: 'x'.repeat(200_000) };
    expect(await codeOf(() => backend.set('ns:old', fx.entry(big, ['ns:t']), 10_000))).toBe(
      CacheErrorCode.E_BACKEND_ERROR,
    );
    expect(scratch(dir)).toEqual([]);
    expect(await backend.get('ns:old')).toBeUndefined(); // never the value it was replacing
    expect((await backend.get('ns:keep'))?.value).toBe('kept');
    expect(backend.details()).toMatchObject({ diskFullWrites: 1 });
    expect(await backend.deleteByTags(['ns:t'])).toBe(0);
    fillUp(filler); // the removed entry freed a page
    expect(await codeOf(() => backend.ping())).toBe(CacheErrorCode.E_BACKEND_ERROR);
    expect(scratch(dir)).toEqual([]);

    fs.rmSync(filler);
    await backend.set('ns:old', fx.entry(big, ['ns:t']), 10_000);
    expect((await backend.get('ns:old'))?.value).toEqual(big);
    expect(await backend.ping()).toBeGreaterThanOrEqual(0);
    expect(await backend.deleteByTags(['ns:t'])).toBe(1);
  }
});
