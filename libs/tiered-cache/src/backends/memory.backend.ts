import { CacheError, CacheErrorCode } from '../cache.errors.js';
import type { CacheBackend, CacheEntry } from '../interfaces/cache-backend.interface.js';
import { DEFAULT_MAX_ENTRY_BYTES, decodeEntry, encodeEntry } from '../serialization/entry-codec.js';
import type { TierCommonOptions } from '../interfaces/tier-common-options.interface.js';
import { positiveInteger } from '../core/option-checks.js';
import { DEFAULT_MAX_ENTRIES, defineBackend } from './backend-definition.js';
import { LruStore } from './lru-store.js';

/** Options of {@link MemoryBackend}. */
export interface MemoryBackendOptions {
  /** Most entries kept before the least recently used is evicted. */
  maxEntries: number;
  /** Optional ceiling on encoded bytes kept (keys counted as 2 bytes a character). */
  maxBytes?: number;
}

/**
 * In-process LRU (on `lru-cache`) that stores each entry serialized, so a caller that mutates a
 * value it got from the cache never changes what the next caller gets. Answers synchronously.
 */
export class MemoryBackend implements CacheBackend {
  readonly name: string = 'memory';
  readonly synchronous = true;
  private readonly store: LruStore<Buffer>;

  constructor(options: MemoryBackendOptions) {
    this.store = new LruStore<Buffer>({
      maxEntries: options.maxEntries,
      ...(options.maxBytes !== undefined
        ? { maxBytes: options.maxBytes, sizeOf: (stored, key) => stored.length + key.length * 2 }
        : {}),
    });
  }

  get(key: string): CacheEntry | undefined {
    const stored = this.store.get(key);
    if (stored === undefined) return undefined;
    try {
      return decodeEntry(stored, DEFAULT_MAX_ENTRY_BYTES);
    } catch (err) {
      this.store.delete([key]);
      throw err;
    }
  }

  set(key: string, entry: CacheEntry, ttlMs: number): void {
    const bytes = encodeEntry(entry);
    this.store.set(key, bytes, entry.tags, ttlMs);
    if (this.store.get(key) === undefined && ttlMs > 0) {
      throw new CacheError(
        CacheErrorCode.E_ENTRY_TOO_LARGE,
        `entry of ${bytes.length} bytes exceeds the memory tier's maxBytes`,
      );
    }
  }

  delete(keys: readonly string[]): number {
    return this.store.delete(keys);
  }

  async deletePattern(glob: string): Promise<number> {
    return this.store.deletePattern(glob);
  }

  async deleteByTags(tags: readonly string[]): Promise<number> {
    return this.store.deleteByTags(tags);
  }

  async clear(prefix: string): Promise<void> {
    this.store.clear(prefix);
  }

  async ping(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {
    this.store.reset();
  }

  size(): number {
    return this.store.size;
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
