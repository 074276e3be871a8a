import type { MaybePromise, StoreLifecycle } from './cache-backend.interface.js';

/**
 * A store of opaque bytes: the part of a backend that only keeps bytes under keys. The serializing
 * adapter above it (`byteStoreBackend`) turns it into a `CacheBackend`: it encodes entries into the
 * library's versioned envelope, enforces `maxEntryBytes` on writes and reads, and deletes an entry
 * that cannot be decoded before reporting it as `E_CORRUPT_ENTRY`. A store never sees a value.
 *
 * Keys, patterns and tags arrive fully namespaced. Failures are reported by throwing or rejecting;
 * a store that finds a malformed record may throw a `CacheError` with code `E_CORRUPT_ENTRY`, and
 * the adapter deletes that key too.
 */
export interface ByteStore extends StoreLifecycle {
  /** True when `getBytes` answers synchronously (in-process stores). */
  readonly synchronous?: boolean;
  /**
   * Reads the bytes stored under `key`; `undefined` or `null` when absent (so a client's reply, such
   * as ioredis's `getBuffer`, can be returned as it is, without a promise continuation of its own).
   */
  getBytes(key: string): MaybePromise<Uint8Array | null | undefined>;
  /**
   * Stores `bytes` under `key` for `ttlMs` (> 0), replacing any previous record. `tags` are the
   * entry's namespaced tags, for stores that index them to serve {@link deleteByTags}.
   */
  setBytes(key: string, bytes: Buffer, ttlMs: number, tags: readonly string[]): MaybePromise<void>;
  /** Removes every record written with any of the given (namespaced) tags; resolves to how many. */
  deleteByTags(tags: readonly string[]): Promise<number>;
  /**
   * For a store whose tag index can lose what it records on its own (Redis evicts keys under
   * `maxmemory`): whether the tagged entry `bytes`, just read under `key`, would still be found by
   * a `deleteByTags` of each of its `tags`. When it would not, the store deletes the entry (only
   * if `key` still holds those bytes) and resolves false: the adapter reads it as a miss, never as
   * a value an invalidation may have missed. Called after decoding, only for entries with tags;
   * untagged reads never call it. A store that knows without asking (Redis that cannot evict)
   * may answer `true` synchronously: the read then stays as cheap as an untagged one.
   */
  confirmTags?(key: string, bytes: Uint8Array, tags: readonly string[]): MaybePromise<boolean>;
}

/**
 * A byte store shared between processes that can also take leases and write conditionally; the
 * adapter then gives the backend the `AtomicCacheBackend` capability (`atomic:` writes).
 */
export interface AtomicByteStore extends ByteStore {
  /** Takes the lease of `key` for `ttlMs`; resolves to a token, or undefined when another holds it. */
  acquireLease(key: string, ttlMs: number): Promise<string | undefined>;
  /** Releases the lease if `token` still holds it; resolves to whether it did. */
  releaseLease(key: string, token: string): Promise<boolean>;
  /** An opaque snapshot of everything that may invalidate `key`, read before computing its value. */
  readVersion(key: string): Promise<string>;
  /** Stores `bytes` only if nothing invalidated `key` since `version` was read; resolves to whether it did. */
  setBytesIfVersion(
    key: string,
    bytes: Buffer,
    ttlMs: number,
    tags: readonly string[],
    version: string,
  ): Promise<boolean>;
}

/** True when a byte store has the {@link AtomicByteStore} capability. */
export function isAtomicByteStore(store: ByteStore): store is AtomicByteStore {
  const s = store as Partial<AtomicByteStore>;
  return (
    typeof s.acquireLease === 'function' &&
    typeof s.releaseLease === 'function' &&
    typeof s.readVersion === 'function' &&
    typeof s.setBytesIfVersion === 'function'
  );
}
