import { CacheError, CacheErrorCode, toCacheError } from '../cache.errors.js';
import type {
  AtomicCacheBackend,
  CacheBackend,
  CacheEntry,
  MaybePromise,
} from '../interfaces/cache-backend.interface.js';
import {
  isAtomicByteStore,
  type AtomicByteStore,
  type ByteStore,
} from '../interfaces/byte-store.interface.js';
import { DEFAULT_MAX_ENTRY_BYTES, decodeEntry, encodeEntry } from './entry-codec.js';

/** Options of {@link byteStoreBackend}. */
export interface ByteStoreBackendOptions {
  /** Largest encoded entry written or read, in bytes; larger ones are refused before parsing. Default 64 MiB. */
  maxEntryBytes?: number;
}

/**
 * The one serializing adapter above every byte-storing backend (`redis`, `redis-atomic`,
 * `filesystem`, and third-party {@link ByteStore}s): it encodes entries into the versioned envelope
 * of `entry-codec.ts`, refuses entries over `maxEntryBytes` (`E_ENTRY_TOO_LARGE`) and reads them as
 * corrupt, and deletes a record that cannot be decoded before reporting `E_CORRUPT_ENTRY`.
 */
export class ByteStoreBackend<S extends ByteStore = ByteStore> implements CacheBackend {
  readonly name: string;
  readonly synchronous: boolean;
  /** Largest encoded entry written or read, in bytes. */
  readonly maxEntryBytes: number;

  constructor(
    /** The byte store underneath. */
    readonly store: S,
    options: ByteStoreBackendOptions = {},
  ) {
    this.name = store.name;
    this.synchronous = store.synchronous === true;
    this.maxEntryBytes = options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
  }

  get(key: string): MaybePromise<CacheEntry | undefined> {
    let found: MaybePromise<Uint8Array | null | undefined>;
    try {
      found = this.store.getBytes(key);
    } catch (err) {
      if (isCorrupt(err)) this.dropQuietly(key);
      throw err;
    }
    if (!(found instanceof Promise)) return this.decode(key, found, true);
    return found.then(
      (bytes) => this.decode(key, bytes, false),
      (err: unknown) => this.failRead(key, err),
    );
  }

  set(key: string, entry: CacheEntry, ttlMs: number): MaybePromise<void> {
    return this.store.setBytes(key, this.encode(entry), ttlMs, entry.tags);
  }

  delete(keys: readonly string[]): MaybePromise<number> {
    return this.store.delete(keys);
  }

  deletePattern(glob: string): Promise<number> {
    return this.store.deletePattern(glob);
  }

  deleteByTags(tags: readonly string[]): Promise<number> {
    return this.store.deleteByTags(tags);
  }

  clear(prefix: string): Promise<void> {
    return this.store.clear(prefix);
  }

  ping(): Promise<number> {
    return this.store.ping();
  }

  close(): Promise<void> {
    return this.store.close();
  }

  size(): number | undefined {
    return this.store.size?.();
  }

  details(): Record<string, unknown> {
    return this.store.details?.() ?? {};
  }

  /** Encodes an entry and enforces `maxEntryBytes` before anything reaches the store. */
  protected encode(entry: CacheEntry): Buffer {
    const bytes = encodeEntry(entry);
    if (bytes.length > this.maxEntryBytes) {
      throw new CacheError(
        CacheErrorCode.E_ENTRY_TOO_LARGE,
        `entry of ${bytes.length} bytes exceeds the ${this.name} tier's maxEntryBytes (${this.maxEntryBytes})`,
      );
    }
    return bytes;
  }

  /**
   * Decodes what the store read. Not `async`: a hit is returned as it is, without a promise of its
   * own. A corrupt record is deleted and reported: after an asynchronous read, by a rejection once
   * it is deleted; after a synchronous one, by a throw, without waiting for the delete.
   */
  private decode(
    key: string,
    bytes: Uint8Array | null | undefined,
    synchronous: boolean,
  ): MaybePromise<CacheEntry | undefined> {
    if (bytes == null) return undefined;
    let entry: CacheEntry;
    try {
      entry = decodeEntry(bytes, this.maxEntryBytes, true);
    } catch (err) {
      if (!synchronous) return this.failRead(key, asCorrupt(err));
      this.dropQuietly(key);
      throw asCorrupt(err);
    }
    return this.confirmed(key, bytes, entry);
  }

  /**
   * The entry, once the store confirmed that its tag index still finds it (see
   * `ByteStore.confirmTags`); a miss when it does not. Untagged entries are returned as they are,
   * and so are tagged ones the store confirms synchronously.
   */
  private confirmed(
    key: string,
    bytes: Uint8Array,
    entry: CacheEntry,
  ): MaybePromise<CacheEntry | undefined> {
    if (entry.tags.length === 0 || this.store.confirmTags === undefined) return entry;
    const found = this.store.confirmTags(key, bytes, entry.tags);
    if (typeof found === 'boolean') return found ? entry : undefined;
    return found.then((confirmed) => (confirmed ? entry : undefined));
  }

  /** Rejects with `err`, after deleting the record when `err` says it is corrupt. */
  private async failRead(key: string, err: unknown): Promise<never> {
    if (isCorrupt(err)) {
      try {
        await this.store.delete([key]);
      } catch {
        // The read is a miss either way; the record goes with its TTL or the next write.
      }
    }
    throw err;
  }

  private dropQuietly(key: string): void {
    try {
      const removed = this.store.delete([key]);
      if (removed instanceof Promise) removed.catch(() => undefined);
    } catch {
      // As in failRead.
    }
  }
}

/** {@link ByteStoreBackend} over an {@link AtomicByteStore}: leases and compare-and-set writes too. */
export class AtomicByteStoreBackend
  extends ByteStoreBackend<AtomicByteStore>
  implements AtomicCacheBackend
{
  acquireLease(key: string, ttlMs: number): Promise<string | undefined> {
    return this.store.acquireLease(key, ttlMs);
  }

  releaseLease(key: string, token: string): Promise<boolean> {
    return this.store.releaseLease(key, token);
  }

  readVersion(key: string): Promise<string> {
    return this.store.readVersion(key);
  }

  async setIfVersion(
    key: string,
    entry: CacheEntry,
    ttlMs: number,
    version: string,
  ): Promise<boolean> {
    return this.store.setBytesIfVersion(key, this.encode(entry), ttlMs, entry.tags, version);
  }
}

/**
 * Turns a {@link ByteStore} into a `CacheBackend` through the shared serializing adapter; an
 * {@link AtomicByteStore} gives a backend with the atomic capability. Use the result as a tier's
 * `backend`, e.g. `shared: { backend: byteStoreBackend(new MyStore()) }`.
 */
export function byteStoreBackend(
  store: ByteStore,
  options: ByteStoreBackendOptions = {},
): ByteStoreBackend {
  return isAtomicByteStore(store)
    ? new AtomicByteStoreBackend(store, options)
    : new ByteStoreBackend(store, options);
}

function isCorrupt(err: unknown): boolean {
  return err instanceof CacheError && err.code === CacheErrorCode.E_CORRUPT_ENTRY;
}

function asCorrupt(err: unknown): CacheError {
  return toCacheError(err, CacheErrorCode.E_CORRUPT_ENTRY, 'stored entry is corrupt');
}
