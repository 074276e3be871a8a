import { describe, expect, it } from '@jest/globals';
import { CacheError, CacheErrorCode } from '../cache.errors.js';
import { NullBackend } from '../backends/null.backend.js';
import {
  isAtomicBackend,
  type CacheBackend,
  type CacheEntry,
} from '../interfaces/cache-backend.interface.js';
import type { AtomicByteStore, ByteStore } from '../interfaces/byte-store.interface.js';
import {
  AtomicByteStoreBackend,
  byteStoreBackend,
  ByteStoreBackend,
} from './byte-store-backend.js';
import { encodeEntry } from './entry-codec.js';

/** A byte store on a Map, synchronous or not, that records what it was asked. */
class RecordingStore implements ByteStore {
  readonly name = 'recording';
  readonly records = new Map<string, Buffer>();
  readonly written: Array<{ key: string; ttlMs: number; tags: readonly string[] }> = [];
  readonly deleted: string[][] = [];
  /** Thrown by the next read, if set. */
  failRead: unknown;
  /** What a read of an absent key answers (`null` like a Redis client's reply, or `undefined`). */
  absent: null | undefined = undefined;

  constructor(readonly synchronous: boolean) {}

  getBytes(key: string): Buffer | null | undefined | Promise<Buffer | null | undefined> {
    const read = (): Buffer | null | undefined => {
      if (this.failRead !== undefined) throw this.failRead;
      return this.records.get(key) ?? this.absent;
    };
    if (this.synchronous) return read();
    return Promise.resolve().then(read);
  }
  setBytes(key: string, bytes: Buffer, ttlMs: number, tags: readonly string[]): void {
    this.records.set(key, bytes);
    this.written.push({ key, ttlMs, tags });
  }
  delete(keys: readonly string[]): number | Promise<number> {
    this.deleted.push([...keys]);
    let removed = 0;
    for (const key of keys) if (this.records.delete(key)) removed++;
    return this.synchronous ? removed : Promise.resolve(removed);
  }
  async deletePattern(): Promise<number> {
    return 0;
  }
  async deleteByTags(): Promise<number> {
    return 0;
  }
  async clear(): Promise<void> {}
  async ping(): Promise<number> {
    return 1;
  }
  async close(): Promise<void> {}
}

const entry = (value: unknown, tags: string[] = []): CacheEntry => ({
  value,
  expiresAt: 2_000,
  staleUntil: 3_000,
  tags,
});

async function codeOf(call: () => unknown): Promise<string | undefined> {
  try {
    await call();
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(CacheError);
    return (err as CacheError).code;
  }
}

describe.each([true, false])('ByteStoreBackend over a store (synchronous: %p)', (synchronous) => {
  it.each([null, undefined])('reads a key the store answers %p for as a miss', async (absent) => {
    const store = new RecordingStore(synchronous);
    store.absent = absent;
    const backend = new ByteStoreBackend(store);
    expect(await backend.get('missing')).toBeUndefined();
    await backend.set('k', entry('v'), 1_000);
    expect((await backend.get('k'))?.value).toBe('v');
  });

  it('encodes on write and decodes on read, passing tags and ttl to the store', async () => {
    const store = new RecordingStore(synchronous);
    const backend = new ByteStoreBackend(store);
    expect(backend.name).toBe('recording');
    expect(backend.synchronous).toBe(synchronous);
    await backend.set('k', entry({ when: new Date(5), n: 1 }, ['t']), 1_000);
    expect(store.written).toEqual([{ key: 'k', ttlMs: 1_000, tags: ['t'] }]);
    expect(
      store.records.get('k')!.equals(encodeEntry(entry({ when: new Date(5), n: 1 }, ['t']))),
    ).toBe(true);
    const read = backend.get('k');
    expect(read instanceof Promise).toBe(!synchronous);
    expect(await read).toEqual(entry({ when: new Date(5), n: 1 }, ['t']));
    expect(await backend.get('absent')).toBeUndefined();
  });

  it('deletes a record it cannot decode, then reports E_CORRUPT_ENTRY', async () => {
    const store = new RecordingStore(synchronous);
    const backend = new ByteStoreBackend(store);
    store.records.set('bad', Buffer.from('not an envelope'));
    expect(await codeOf(() => backend.get('bad'))).toBe(CacheErrorCode.E_CORRUPT_ENTRY);
    await Promise.resolve();
    expect(store.deleted).toEqual([['bad']]);
    expect(store.records.has('bad')).toBe(false);
  });

  it('deletes the record when the store itself reports it corrupt, and only then', async () => {
    const store = new RecordingStore(synchronous);
    const backend = new ByteStoreBackend(store);
    store.failRead = new CacheError(CacheErrorCode.E_CORRUPT_ENTRY, 'bad record');
    expect(await codeOf(() => backend.get('k'))).toBe(CacheErrorCode.E_CORRUPT_ENTRY);
    expect(store.deleted).toEqual([['k']]);
    store.failRead = new CacheError(CacheErrorCode.E_BACKEND_ERROR, 'down');
    expect(await codeOf(() => backend.get('k'))).toBe(CacheErrorCode.E_BACKEND_ERROR);
    expect(store.deleted).toEqual([['k']]);
  });

  it('asks a store with confirmTags about tagged entries only, and reads a refused one as a miss', async () => {
    const asked: Array<[string, readonly string[]]> = [];
    let confirm = true;
    const store = Object.assign(new RecordingStore(synchronous), {
      confirmTags: async (key: string, bytes: Uint8Array, tags: readonly string[]) => {
        expect(Buffer.from(bytes).equals(store.records.get(key)!)).toBe(true);
        asked.push([key, tags]);
        return confirm;
      },
    });
    const backend = new ByteStoreBackend(store);
    await backend.set('plain', entry(1), 1_000);
    await backend.set('tagged', entry(2, ['t', 'u']), 1_000);
    const plain = backend.get('plain');
    expect(plain instanceof Promise).toBe(!synchronous); // an untagged read is not made async
    expect((await plain)?.value).toBe(1);
    expect((await backend.get('tagged'))?.value).toBe(2);
    confirm = false;
    expect(await backend.get('tagged')).toBeUndefined();
    expect(asked).toEqual([
      ['tagged', ['t', 'u']],
      ['tagged', ['t', 'u']],
    ]);
  });

  it('keeps a tagged read as it is when the store confirms it synchronously', async () => {
    let confirm = true;
    const store = Object.assign(new RecordingStore(synchronous), {
      confirmTags: () => confirm,
    });
    const backend = new ByteStoreBackend(store);
    await backend.set('tagged', entry(2, ['t']), 1_000);
    const read = backend.get('tagged');
    expect(read instanceof Promise).toBe(!synchronous); // no promise of its own
    expect((await read)?.value).toBe(2);
    confirm = false;
    expect(await backend.get('tagged')).toBeUndefined();
  });

  it('refuses an entry over maxEntryBytes before the store sees it, and reads one as corrupt', async () => {
    const store = new RecordingStore(synchronous);
    const backend = new ByteStoreBackend(store, { maxEntryBytes: 64 });
    const err = await codeOf(() => backend.set('big', entry('x'.repeat(100)), 1_000));
    expect(err).toBe(CacheErrorCode.E_ENTRY_TOO_LARGE);
    expect(store.written).toEqual([]);
    store.records.set('big', encodeEntry(entry('y'.repeat(100))));
    expect(await codeOf(() => backend.get('big'))).toBe(CacheErrorCode.E_CORRUPT_ENTRY);
    expect(store.records.has('big')).toBe(false);
  });
});

describe('byteStoreBackend', () => {
  it("names the tier's limit in E_ENTRY_TOO_LARGE", () => {
    const backend = byteStoreBackend(new RecordingStore(true), { maxEntryBytes: 30 });
    expect(() => backend.set('k', entry('x'.repeat(50)), 1)).toThrow(
      /entry of \d+ bytes exceeds the recording tier's maxEntryBytes \(30\)/,
    );
  });

  it('gives the atomic capability only to an atomic store', async () => {
    const plain = byteStoreBackend(new RecordingStore(true));
    expect(plain).not.toBeInstanceOf(AtomicByteStoreBackend);
    expect(isAtomicBackend(plain)).toBe(false);

    const calls: unknown[][] = [];
    const atomicStore: AtomicByteStore = Object.assign(new RecordingStore(false), {
      acquireLease: async (key: string, ttlMs: number) => (calls.push([key, ttlMs]), 'token'),
      releaseLease: async () => true,
      readVersion: async () => 'v1',
      setBytesIfVersion: async (
        key: string,
        bytes: Buffer,
        ttlMs: number,
        tags: readonly string[],
        version: string,
      ) => (calls.push([key, bytes.length > 0, ttlMs, tags, version]), true),
    });
    const atomic = byteStoreBackend(atomicStore);
    expect(isAtomicBackend(atomic)).toBe(true);
    // A CacheBackend with leases and conditional writes but no deleteByTags is not atomic: its
    // conditional writes would store tagged entries that no tag delete could remove.
    const untagged: CacheBackend = Object.assign(new NullBackend(), {
      deleteByTags: undefined,
      acquireLease: async () => 'token',
      releaseLease: async () => true,
      readVersion: async () => 'v1',
      setIfVersion: async () => true,
    });
    expect(isAtomicBackend(untagged)).toBe(false);
    expect(isAtomicBackend(Object.assign(untagged, { deleteByTags: async () => 0 }))).toBe(true);
    if (!isAtomicBackend(atomic)) return;
    expect(await atomic.acquireLease('k', 500)).toBe('token');
    expect(await atomic.readVersion('k')).toBe('v1');
    expect(await atomic.setIfVersion('k', entry(1, ['t']), 900, 'v1')).toBe(true);
    expect(calls).toEqual([
      ['k', 500],
      ['k', true, 900, ['t'], 'v1'],
    ]);
  });

  it('passes size and details through, with {} when the store has none', () => {
    const backend = byteStoreBackend(new RecordingStore(true));
    expect(backend.size()).toBeUndefined();
    expect(backend.details()).toEqual({});
  });
});
