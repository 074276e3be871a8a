import { afterEach, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { FsFixture, fileOf, type FilesystemBackend } from '../../test/filesystem-harness.js';

const fx = new FsFixture();
afterEach(() => fx.cleanup());

const GARBAGE = 'not an entry: read me and I am removed as corrupt';

/** Writes `count` entries `ns:item:<i>`, tagged `ns:t<i % 10>`. */
async function fill(backend: FilesystemBackend, count: number): Promise<void> {
  for (let i = 0; i < count; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, (_, j) =>
        backend.set(`ns:item:${i + j}`, fx.entry(i + j, [`ns:t${(i + j) % 10}`]), 10_000),
      ),
    );
  }
}

/**
 * Overwrites the files of `keys` with garbage, in place: a delete that read them would find them
 * corrupt and remove them, so they are still there only if nothing read them.
 */
function poison(dir: string, keys: string[]): string[] {
  const files = keys.map((key) => fileOf(dir, key));
  for (const file of files) fs.writeFileSync(file, GARBAGE);
  return files;
}

function markers(dir: string): string[] {
  return fs.readdirSync(path.join(dir, '.tags')).filter((name) => !name.startsWith('.'));
}

describe('FilesystemStore: the key index and the tag markers', () => {
  it('deletes by pattern, prefix and tag without reading the entries that do not match', async () => {
    const dir = fx.tempDir();
    const backend = await fx.open(dir);
    await fill(backend, 300);
    // Neither ns:item:1?, nor tagged ns:t3, nor starting with ns:item:5.
    const spared = Array.from({ length: 100 }, (_, i) => 200 + i).filter((i) => i % 10 !== 3);
    const untouched = poison(
      dir,
      spared.map((i) => `ns:item:${i}`),
    );

    expect(await backend.deletePattern('ns:item:1?')).toBe(10);
    expect(await backend.deleteByTags(['ns:t3'])).toBe(29); // 3, 13 ... 293, but 13 already went
    await backend.clear('ns:item:5');
    expect(await backend.get('ns:item:5')).toBeUndefined();
    expect(await backend.get('ns:item:50')).toBeUndefined();
    expect((await backend.get('ns:item:60'))?.value).toBe(60);
    for (const file of untouched) expect(fs.readFileSync(file, 'utf8')).toBe(GARBAGE);
    expect(await backend.get('ns:item:13')).toBeUndefined();
    expect(await backend.get('ns:item:23')).toBeUndefined();
    expect((await backend.get('ns:item:24'))?.value).toBe(24);
  });

  it('finds the entries another store (another process) wrote in the same directory', async () => {
    const dir = fx.tempDir();
    const mine = await fx.open(dir);
    const theirs = await fx.open(dir);
    await mine.set('ns:a:1', fx.entry('a1', ['ns:red']), 10_000);
    await theirs.set('ns:a:2', fx.entry('a2', ['ns:red']), 10_000);
    await theirs.set('ns:b:1', fx.entry('b1', ['ns:blue']), 10_000);

    expect(await mine.deletePattern('ns:a:*')).toBe(2);
    expect(await theirs.get('ns:a:2')).toBeUndefined();
    expect(await mine.deleteByTags(['ns:blue'])).toBe(1);

    // An overwrite in the other store changes the entry's tags: deletes follow the file, not memory.
    await mine.set('ns:c', fx.entry('c1', ['ns:red']), 10_000);
    await theirs.set('ns:c', fx.entry('c2', ['ns:green']), 10_000);
    expect(await mine.deleteByTags(['ns:red'])).toBe(0);
    expect((await theirs.get('ns:c'))?.value).toBe('c2');
    expect(await mine.deleteByTags(['ns:green'])).toBe(1);
    expect(await theirs.get('ns:c')).toBeUndefined();
  });

  it('keeps working across a restart, from the files alone', async () => {
    const dir = fx.tempDir();
    const first = await fx.open(dir);
    await fill(first, 40);
    await first.close();

    const second = fx.backend(dir); // its start-up prune is still to run
    expect(await second.deletePattern('ns:item:1*')).toBe(11);
    expect(await second.deleteByTags(['ns:t2'])).toBe(3); // 2, 22, 32 (12 went above)
    await second.store.prune();
    const untouched = poison(dir, ['ns:item:4', 'ns:item:5']);
    expect(await second.deletePattern('ns:item:3?')).toBe(9); // 32 went with ns:t2
    expect(await second.deleteByTags(['ns:t6'])).toBe(2); // 6, 26
    for (const file of untouched) expect(fs.existsSync(file)).toBe(true);
  });

  it('falls back to reading every entry until a prune has checked the markers', async () => {
    const dir = fx.tempDir();
    const backend = await fx.open(dir);
    await fill(backend, 30);
    // As after an upgrade from a version without markers, or an operator deleting .tags/.
    fs.rmSync(path.join(dir, '.tags'), { recursive: true });
    await backend.set('ns:late', fx.entry('late', ['ns:t1']), 10_000);

    expect(await backend.deleteByTags(['ns:t1'])).toBe(4);
    await backend.store.prune();
    expect(fs.existsSync(path.join(dir, '.tags', '.complete'))).toBe(true);
    expect(markers(dir)).toHaveLength(27);
    const untouched = poison(dir, ['ns:item:0', 'ns:item:5']);
    expect(await backend.deleteByTags(['ns:t2'])).toBe(3);
    for (const file of untouched) expect(fs.readFileSync(file, 'utf8')).toBe(GARBAGE);
  });

  it('reads each candidate: an entry overwritten without the tag stays, and stale markers go', async () => {
    const dir = fx.tempDir();
    const backend = await fx.open(dir);
    await backend.set('ns:x', fx.entry('x1', ['ns:old']), 10_000);
    await backend.set('ns:y', fx.entry('y', ['ns:old']), 10_000);
    await backend.set('ns:x', fx.entry('x2', ['ns:new']), 10_000);
    await backend.delete(['ns:y']);
    expect(markers(dir)).toHaveLength(3);

    expect(await backend.deleteByTags(['ns:old'])).toBe(0);
    expect((await backend.get('ns:x'))?.value).toBe('x2');
    expect(markers(dir)).toHaveLength(1);

    await backend.set('ns:z', fx.entry('z', ['ns:new']), 10_000);
    await backend.delete(['ns:z']);
    await backend.store.prune();
    expect(markers(dir)).toHaveLength(1);
    expect(await backend.deleteByTags(['ns:new'])).toBe(1);
  });
});
