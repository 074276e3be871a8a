import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { types } from 'node:util';
import { CacheError, CacheErrorCode } from '../cache.errors.js';
import type { CacheEntry } from '../interfaces/cache-backend.interface.js';
import { ByteStoreBackend } from '../serialization/byte-store-backend.js';
import { FilesystemStore, type FilesystemStoreOptions } from './filesystem.store.js';

/** The filesystem store under the serializing adapter, as the `filesystem` backend builds it. */
type FilesystemBackend = ByteStoreBackend<FilesystemStore>;

let dir: string;
let now: number;
let backends: FilesystemBackend[];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntc-fs-'));
  now = 1_000_000;
  backends = [];
});

afterEach(async () => {
  for (const backend of backends) await backend.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A backend on the test's directory, with its start-up prune already settled. */
async function open(options: Partial<FilesystemStoreOptions> = {}): Promise<FilesystemBackend> {
  const settings: FilesystemStoreOptions = {
    dir,
    maxEntries: 1000,
    pruneIntervalMs: 60_000,
    maxEntryBytes: 1024 * 1024,
    clock: () => now,
    ...options,
  };
  const backend = new ByteStoreBackend(new FilesystemStore(settings), settings);
  backends.push(backend);
  await backend.store.prune();
  return backend;
}

function entry(value: unknown, ttlMs = 10_000, tags: string[] = []): CacheEntry {
  return { value, expiresAt: now + ttlMs, staleUntil: now + ttlMs, tags };
}

function fileOf(key: string): string {
  return path.join(dir, `${createHash('sha256').update(key, 'utf8').digest('hex')}.entry`);
}

/** The directory's files, without the tag markers' directory. */
function files(): string[] {
  return fs
    .readdirSync(dir)
    .filter((name) => name !== '.tags')
    .sort();
}

/** The code of the CacheError `call` throws or rejects with; undefined when it succeeds. */
async function codeOf(call: () => unknown): Promise<string | undefined> {
  try {
    await call();
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(CacheError);
    return (err as CacheError).code;
  }
}

describe('FilesystemBackend', () => {
  it('round-trips rich values, tags and expiry', async () => {
    const backend = await open();
    const value = {
      when: new Date('2024-05-06T07:08:09.010Z'),
      map: new Map<string, unknown>([
        ['a', 1],
        ['b', { c: [1, 2, 3] }],
      ]),
      nested: { deep: { list: [{ x: 'y' }, null, true] } },
      buf: Buffer.from([0, 1, 2, 255]),
    };
    await backend.set('ns:rich', entry(value, 5000, ['ns:t1', 'ns:t2']), 5000);
    await backend.set('ns:plain', entry({ a: 1, b: ['x'] }), 10_000);

    const got = await backend.get('ns:rich');
    expect(got).toEqual({
      value,
      expiresAt: now + 5000,
      staleUntil: now + 5000,
      tags: ['ns:t1', 'ns:t2'],
    });
    const gotValue = got!.value as typeof value;
    // V8 deserializes in Node's own realm, not Jest's: check the kinds with util.types.
    expect(types.isDate(gotValue.when)).toBe(true);
    expect(types.isMap(gotValue.map)).toBe(true);
    expect(types.isUint8Array(gotValue.buf)).toBe(true);
    expect(Buffer.from(gotValue.buf)).toEqual(Buffer.from([0, 1, 2, 255]));
    expect((await backend.get('ns:plain'))?.value).toEqual({ a: 1, b: ['x'] });
    expect(await backend.get('ns:missing')).toBeUndefined();
    expect(backend.name).toBe('filesystem');
    expect(backend.synchronous).toBe(false);
  });

  it('overwrites an entry', async () => {
    const backend = await open();
    await backend.set('k', entry('first'), 10_000);
    await backend.set('k', entry('second'), 10_000);
    expect((await backend.get('k'))?.value).toBe('second');
    expect(files()).toHaveLength(1);
  });

  it('deletes keys and counts those that existed', async () => {
    const backend = await open();
    await backend.set('a', entry(1), 10_000);
    await backend.set('b', entry(2), 10_000);
    await backend.set('c', entry(3), 10_000);
    expect(await backend.delete(['a', 'b', 'missing', 'a'])).toBe(2);
    expect(await backend.delete(['a'])).toBe(0);
    expect(await backend.get('a')).toBeUndefined();
    expect((await backend.get('c'))?.value).toBe(3);
  });

  it('deletes by glob, taking an escaped * literally', async () => {
    const backend = await open();
    for (const key of ['ns:star*', 'ns:starX', 'ns:star*x', 'ns:other'])
      await backend.set(key, entry(key), 10_000);

    expect(await backend.deletePattern('ns:star\\*')).toBe(1);
    expect(await backend.get('ns:star*')).toBeUndefined();
    expect((await backend.get('ns:starX'))?.value).toBe('ns:starX');
    expect((await backend.get('ns:star*x'))?.value).toBe('ns:star*x');

    await backend.set('ns:star*', entry('again'), 10_000);
    expect(await backend.deletePattern('ns:star\\**')).toBe(2);
    expect(await backend.get('ns:star*x')).toBeUndefined();
    expect((await backend.get('ns:starX'))?.value).toBe('ns:starX');

    expect(await backend.deletePattern('ns:*')).toBe(2);
    expect(files()).toEqual([]);
  });

  it('deletes by tags', async () => {
    const backend = await open();
    await backend.set('p1', entry(1, 10_000, ['t:user:1']), 10_000);
    await backend.set('p2', entry(2, 10_000, ['t:user:1', 't:user:2']), 10_000);
    await backend.set('p3', entry(3, 10_000, ['t:user:2']), 10_000);
    await backend.set('p4', entry(4, 10_000, ['t:user:3']), 10_000);
    expect(await backend.deleteByTags(['t:user:1', 't:user:2'])).toBe(3);
    expect(await backend.deleteByTags([])).toBe(0);
    expect(await backend.get('p1')).toBeUndefined();
    expect(await backend.get('p3')).toBeUndefined();
    expect((await backend.get('p4'))?.value).toBe(4);
  });

  it('clears a prefix and leaves other prefixes', async () => {
    const backend = await open();
    await backend.set('app1:a', entry(1), 10_000);
    await backend.set('app1:b', entry(2), 10_000);
    await backend.set('app2:a', entry(3), 10_000);
    await backend.clear('app1:');
    expect(await backend.get('app1:a')).toBeUndefined();
    expect(await backend.get('app1:b')).toBeUndefined();
    expect((await backend.get('app2:a'))?.value).toBe(3);
  });

  it('keeps entries across a restart', async () => {
    const first = await open();
    await first.set('persist', entry({ kept: true }, 60_000, ['t']), 60_000);
    await first.close();
    const second = await open();
    expect(await second.get('persist')).toEqual({
      value: { kept: true },
      expiresAt: now + 60_000,
      staleUntil: now + 60_000,
      tags: ['t'],
    });
    expect(second.size()).toBe(1);
  });

  it('reads a truncated file as corrupt and removes it', async () => {
    const backend = await open();
    await backend.set('trunc', entry({ text: 'x'.repeat(200) }), 10_000);
    const file = fileOf('trunc');
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, 30));
    expect(await codeOf(() => backend.get('trunc'))).toBe(CacheErrorCode.E_CORRUPT_ENTRY);
    expect(fs.existsSync(file)).toBe(false);
    expect(await backend.get('trunc')).toBeUndefined();
  });

  it('reads a garbage file as corrupt and removes it', async () => {
    const backend = await open();
    fs.writeFileSync(fileOf('garbage'), 'this is not a cache entry at all');
    expect(await codeOf(() => backend.get('garbage'))).toBe(CacheErrorCode.E_CORRUPT_ENTRY);
    expect(fs.existsSync(fileOf('garbage'))).toBe(false);

    // A valid header with an undecodable value is corrupt as well.
    await backend.set('badvalue', entry({ a: 1 }), 10_000);
    const bytes = fs.readFileSync(fileOf('badvalue'));
    bytes[bytes.length - 1] = 0x7b; // '{': the JSON no longer parses
    fs.writeFileSync(fileOf('badvalue'), bytes);
    expect(await codeOf(() => backend.get('badvalue'))).toBe(CacheErrorCode.E_CORRUPT_ENTRY);
    expect(fs.existsSync(fileOf('badvalue'))).toBe(false);
  });

  it('reads an oversized file as corrupt', async () => {
    const backend = await open({ maxEntryBytes: 1000 });
    await backend.set('big', entry('small'), 10_000);
    fs.appendFileSync(fileOf('big'), Buffer.alloc(2000));
    expect(await codeOf(() => backend.get('big'))).toBe(CacheErrorCode.E_CORRUPT_ENTRY);
    expect(fs.existsSync(fileOf('big'))).toBe(false);
  });

  it('reads a file holding another key as a miss', async () => {
    const backend = await open();
    await backend.set('real', entry('real value'), 10_000);
    fs.copyFileSync(fileOf('real'), fileOf('impostor'));
    expect(await backend.get('impostor')).toBeUndefined();
    expect((await backend.get('real'))?.value).toBe('real value');
  });

  it('refuses an entry larger than maxEntryBytes without writing it', async () => {
    const backend = await open({ maxEntryBytes: 100 });
    expect(await codeOf(() => backend.set('huge', entry('x'.repeat(500)), 10_000))).toBe(
      CacheErrorCode.E_ENTRY_TOO_LARGE,
    );
    expect(files()).toEqual([]);
  });

  it('misses expired entries and prunes them', async () => {
    const backend = await open();
    await backend.set('short1', entry(1, 1000), 1000);
    await backend.set('short2', entry(2, 1000), 1000);
    await backend.set('long', entry(3, 100_000), 100_000);
    expect((await backend.get('short1'))?.value).toBe(1);

    now += 1000; // staleUntil reached
    const result = await backend.store.prune();
    expect(result).toEqual({ removed: 2, remaining: 1 });
    expect(fs.existsSync(fileOf('short1'))).toBe(false);
    expect(fs.existsSync(fileOf('short2'))).toBe(false);
    expect(backend.size()).toBe(1);

    await backend.set('short3', entry(4, 500), 500);
    now += 500;
    expect(await backend.get('short3')).toBeUndefined();
    expect((await backend.get('long'))?.value).toBe(3);
  });

  it('prunes the entries closest to expiry beyond maxEntries', async () => {
    const backend = await open({ maxEntries: 3 });
    for (let i = 0; i < 8; i++) await backend.set(`k${i}`, entry(i, 10_000 + i * 1000), 10_000);
    const result = await backend.store.prune();
    expect(result.remaining).toBe(3);
    expect(files()).toHaveLength(3);
    for (let i = 0; i < 5; i++) expect(await backend.get(`k${i}`)).toBeUndefined();
    for (let i = 5; i < 8; i++) expect((await backend.get(`k${i}`))?.value).toBe(i);
  });

  it('prunes in the background after many writes', async () => {
    const backend = await open({ maxEntries: 3 });
    // The 11th write since the last prune (more than max(10, maxEntries / 10)) schedules one.
    for (let i = 0; i < 11; i++) await backend.set(`w${i}`, entry(i, 10_000 + i * 1000), 10_000);
    // The prune is scheduled off the request path: yield to the event loop until it has run.
    const deadline = Date.now() + 5000;
    while (backend.size() !== 3 && Date.now() < deadline)
      await new Promise((resolve) => setImmediate(resolve));
    expect(backend.size()).toBe(3);
    expect(files()).toHaveLength(3);
    for (let i = 8; i < 11; i++) expect((await backend.get(`w${i}`))?.value).toBe(i);
  });

  it('prunes stale temp files and corrupt entries, keeping fresh temp files', async () => {
    const backend = await open();
    // Written by a process that is still running (pid 1 always is): only their age decides.
    const stale = path.join(dir, '.tmp-1-0-deadbeef');
    const fresh = path.join(dir, '.tmp-1-1-cafebabe');
    fs.writeFileSync(stale, 'partial');
    fs.writeFileSync(fresh, 'partial');
    const old = new Date(Date.now() - 120_000);
    fs.utimesSync(stale, old, old);
    fs.writeFileSync(fileOf('junk'), 'garbage');
    await backend.set('kept', entry('kept'), 10_000);

    const result = await backend.store.prune();
    expect(result).toEqual({ removed: 2, remaining: 1 });
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.existsSync(fresh)).toBe(true);
    expect(fs.existsSync(fileOf('junk'))).toBe(false);
  });

  it('leaves no temp file behind after writes', async () => {
    const backend = await open();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => backend.set(`key${i}`, entry({ i }), 10_000)),
    );
    expect(files().filter((name) => !name.endsWith('.entry'))).toEqual([]);
    expect(files()).toHaveLength(20);
  });

  it('leaves a valid entry after concurrent writes of one key', async () => {
    const backend = await open();
    const values = Array.from({ length: 50 }, (_, i) => ({
      writer: i,
      payload: 'p'.repeat(1000 + i),
    }));
    await Promise.all(values.map((value) => backend.set('contended', entry(value), 10_000)));
    const got = await backend.get('contended');
    expect(values).toContainEqual(got?.value);
    expect(files()).toEqual([path.basename(fileOf('contended'))]);
  });

  it('fails soft with E_BACKEND_ERROR when the directory is unusable', async () => {
    const backend = await open();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.writeFileSync(dir, 'not a directory');
    expect(await codeOf(() => backend.set('k', entry(1), 10_000))).toBe(
      CacheErrorCode.E_BACKEND_ERROR,
    );
    expect(await codeOf(() => backend.get('k'))).toBe(CacheErrorCode.E_BACKEND_ERROR);
    expect(await codeOf(() => backend.deletePattern('k*'))).toBe(CacheErrorCode.E_BACKEND_ERROR);
    expect(await codeOf(() => backend.ping())).toBe(CacheErrorCode.E_BACKEND_ERROR);
    await expect(backend.store.prune()).resolves.toEqual({ removed: 0, remaining: 0 });
  });

  it('pings with a real round trip', async () => {
    const backend = await open();
    const ms = await backend.ping();
    expect(typeof ms).toBe('number');
    expect(ms).toBeGreaterThanOrEqual(0);
    expect(files()).toEqual([]);
  });

  it('keeps every key, unicode or path-like, inside the directory', async () => {
    const backend = await open();
    const keys = [
      'ns:clé-🔑-ключ',
      '../escape-ntc',
      '../../etc/passwd',
      '../x-ntc',
      '/abs/path',
      'a/b\\c\0d',
    ];
    for (const key of keys) await backend.set(key, entry(key), 10_000);
    for (const key of keys) expect((await backend.get(key))?.value).toBe(key);
    expect(files()).toHaveLength(keys.length);
    for (const name of files()) expect(name).toMatch(/^[0-9a-f]{64}\.entry$/);
    expect(fs.existsSync(path.resolve(dir, '../escape-ntc'))).toBe(false);
    expect(fs.existsSync(path.resolve(dir, '../x-ntc'))).toBe(false);
    expect(await backend.deletePattern('../*')).toBe(3);
    expect((await backend.get('ns:clé-🔑-ключ'))?.value).toBe('ns:clé-🔑-ключ');
  });

  it('closes safely twice', async () => {
    const backend = await open();
    await backend.set('k', entry(1), 10_000);
    await backend.close();
    await backend.close();
  });
});
