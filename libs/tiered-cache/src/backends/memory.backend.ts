import { CacheError, CacheErrorCode } from '../cache.errors.js';
import type { CacheEntry } from '../interfaces/cache-backend.interface.js';
import type { TierCommonOptions } from '../interfaces/tier-common-options.interface.js';
import { positiveInteger } from '../core/option-checks.js';
import { DEFAULT_MAX_ENTRIES, defineBackend } from './backend-definition.js';
import { encodeEntry, valueCodecOf, valueOffsetOf } from '../serialization/entry-codec.js';
import { LruBackend } from './lru-backend.js';
import { LruStore } from './lru-store.js';
import { MemoryHit, MemoryRecord } from './memory-record.js';

/** Options of {@link MemoryBackend}. */
export interface MemoryBackendOptions {
  /** Most entries kept before the least recently used is evicted. */
  maxEntries: number;
  /** Optional ceiling on encoded bytes kept (keys counted as 2 bytes a character). */
  maxBytes?: number;
}

/**
 * In-process LRU (on `lru-cache`) that serializes each value on write, so a caller never shares a
 * mutable object with the cache: what a caller does to a value it gave or got never changes what
 * the next caller gets. Answers synchronously. A hit costs a copy of the value, not a decode: the
 * times and tags are kept as fields, primitives as they are, JSON values as a private tree copied
 * for each reader (see `memory-record.ts`), and only richer values as V8 bytes read every time.
 * `maxBytes` counts the encoded size of each entry (the envelope an L2 would store) plus its key.
 */
export class MemoryBackend extends LruBackend<MemoryRecord> {
  readonly name: string = 'memory';
  private readonly bounded: boolean;

  constructor(options: MemoryBackendOptions) {
    super(
      new LruStore<MemoryRecord>({
        maxEntries: options.maxEntries,
        ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
      }),
    );
    this.bounded = options.maxBytes !== undefined;
  }

  get(key: string): CacheEntry | undefined {
    const record = this.store.get(key);
    if (record === undefined) return undefined;
    try {
      return new MemoryHit(record.value(), record);
    } catch (err) {
      this.store.delete([key]);
      throw err;
    }
  }

  set(key: string, entry: CacheEntry, ttlMs: number): void {
    // Encoding checks the value and the tags, gives the size, and is remembered for the entry, so
    // writing it to the other tier as well (or a backfill of bytes read there) encodes nothing twice.
    const bytes = encodeEntry(entry);
    const record = MemoryRecord.of(entry, valueCodecOf(bytes), bytes, valueOffsetOf(bytes));
    const size = this.bounded ? bytes.length + key.length * 2 : undefined;
    if (!this.store.set(key, record, entry.tags, ttlMs, size)) {
      throw new CacheError(
        CacheErrorCode.E_ENTRY_TOO_LARGE,
        `entry of ${bytes.length} bytes exceeds the memory tier's maxBytes`,
      );
    }
  }
}

/** Options of a `memory` tier: an in-process LRU; values are serialized on write. */
export interface MemoryTierOptions extends TierCommonOptions {
  backend: 'memory';
  /** Most entries kept before the least recently used is evicted. Default 10 000. */
  maxEntries?: number;
  /** Optional ceiling on the encoded bytes kept (keys included). */
  maxBytes?: number;
}

/** `memory`: options `maxEntries` (default 10 000) and `maxBytes` (no ceiling by default). */
export const memoryBackend = defineBackend({
  name: 'memory',
  options: ['maxEntries', 'maxBytes'],
  resolve: (tier: MemoryTierOptions, path: string): MemoryBackendOptions => {
    const maxEntries =
      positiveInteger(tier.maxEntries, `${path}.maxEntries`) ?? DEFAULT_MAX_ENTRIES;
    const maxBytes = positiveInteger(tier.maxBytes, `${path}.maxBytes`);
    return maxBytes === undefined ? { maxEntries } : { maxEntries, maxBytes };
  },
  create: (settings) => new MemoryBackend(settings),
});
