import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CacheErrorCode } from '../src/cache.errors.js';
import { FsFixture, codeOf } from './filesystem-harness.js';
import { waitFor } from './wait-for.js';

const fx = new FsFixture();
afterEach(() => fx.cleanup());

const LIB = fileURLToPath(new URL('..', import.meta.url));
const WRITER = path.join(LIB, 'test/fixtures/filesystem-writer.mjs');

/** Temp and probe files in `dir`. */
function scratch(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((name) => name.startsWith('.tmp-') || name.startsWith('.probe-'));
}

/** The writer process runs the built library, as an application would (`npm test` builds it). */
function assertBuilt(): void {
  if (!fs.existsSync(path.join(LIB, 'dist/backends/filesystem.store.js')))
    throw new Error(
      'libs/tiered-cache/dist is missing: run `npm run build:lib` first (npm test does)',
    );
}

describe('a writer process killed with SIGKILL in the middle of a write', () => {
  const size = 4 * 1024 * 1024;
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill('SIGKILL');
    child = undefined;
  });

  /** True when `value` is one whole value as the writer writes them. */
  function whole(value: unknown): boolean {
    const { i, data } = value as { i: number; data: string };
    return data === String.fromCharCode(97 + (i % 26)).repeat(size);
  }

  it('never leaves a partial entry readable, and its temp file goes at the next start', async () => {
    assertBuilt();
    const dir = fx.tempDir();
    const options = { maxEntryBytes: 2 * size + 1024, clock: Date.now };
    const reader = await fx.open(dir, options);
    const writer = spawn(process.execPath, [WRITER, dir, String(size)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child = writer;
    let writes = 0;
    writer.stdout!.on(
      'data',
      (chunk: Buffer) => (writes += chunk.toString().split('wrote').length - 1),
    );
    const exited = new Promise((resolve) => writer.once('exit', resolve));

    // Read all along: every hit must be one whole value, never a torn one.
    let reading = true;
    const reads = { hits: 0, torn: 0, errors: [] as string[] };
    const readLoop = (async () => {
      while (reading) {
        try {
          const got = await reader.get('ns:big');
          if (got === undefined) continue;
          if (whole(got.value)) reads.hits++;
          else reads.torn++;
        } catch (err) {
          reads.errors.push(String(err));
        }
      }
    })();

    await waitFor(() => writes >= 2, 'two whole writes', 10_000);
    const orphan = await killMidWrite(writer, dir);
    await exited;
    reading = false;
    await readLoop;
    expect(reads).toEqual({ hits: expect.any(Number), torn: 0, errors: [] });
    expect(reads.hits).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(dir, orphan))).toBe(true);
    expect(whole((await reader.get('ns:big'))?.value)).toBe(true);

    const next = fx.backend(dir, options); // its start-up prune runs on its own
    await waitFor(
      () => scratch(dir).length === 0,
      'the orphaned temp file removed at start',
      3_000,
    );
    expect(whole((await next.get('ns:big'))?.value)).toBe(true);
    expect(await next.deleteByTags(['ns:big-tag'])).toBe(1);
  });
});

/**
 * Waits for `writer` to create a temp file, stops it, and kills it with SIGKILL if the temp file
 * is still there (the write is not finished); else lets it go on to the next write. Resolves to
 * the name of the temp file it left.
 */
function killMidWrite(writer: ChildProcess, dir: string): Promise<string> {
  const prefix = `.tmp-${writer.pid}-`;
  return new Promise((resolve, reject) => {
    const watcher = fs.watch(dir, (_event, name) => {
      if (typeof name !== 'string' || !name.startsWith(prefix)) return;
      writer.kill('SIGSTOP');
      // The signal is only sent: on another core the writer may still rename its temp file before
      // it stops. Look for the file once it has stopped.
      waitStopped(writer.pid!);
      if (fs.existsSync(path.join(dir, name))) {
        watcher.close();
        writer.kill('SIGKILL');
        resolve(name);
      } else {
        writer.kill('SIGCONT');
      }
    });
    writer.once('exit', (code, signal) => {
      watcher.close();
      if (signal !== 'SIGKILL') reject(new Error(`the writer exited (${code ?? signal})`));
    });
  });
}

/**
 * Returns once process `pid` is stopped (state `T` in /proc/<pid>/stat), at most after 1 s; at
 * once where there is no /proc. Synchronous: it runs inside an `fs.watch` callback, while the
 * writer is being stopped.
 */
function waitStopped(pid: number): void {
  const stat = `/proc/${pid}/stat`;
  if (!fs.existsSync(stat)) return;
  const until = performance.now() + 1_000;
  while (performance.now() < until) {
    // The state follows the command name, which is in parentheses and may hold spaces.
    const text = fs.readFileSync(stat, 'utf8');
    const state = text[text.lastIndexOf(')') + 2];
    if (state === 'T' || state === 't') return;
  }
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
