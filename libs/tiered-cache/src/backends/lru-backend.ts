import type { CacheBackend, CacheEntry } from '../interfaces/cache-backend.interface.js';
import type { Expiring, LruStore } from './lru-store.js';

/**
 * What the two in-process backends share: an {@link LruStore} of their stored form (`S`), answers
 * given synchronously, and every call but reading and writing an entry, which is where they differ
 * (`memory` keeps a serialized copy, `memory-no-serializer` the value itself).
 */
export abstract class LruBackend<S extends Expiring> implements CacheBackend {
  abstract readonly name: string;
  readonly synchronous = true;
  /** @internal The entries, in their stored form. */
  protected readonly store: LruStore<S>;

  /** @internal */
  constructor(store: LruStore<S>) {
    this.store = store;
  }

  abstract get(key: string): CacheEntry | undefined;

  abstract set(key: string, entry: CacheEntry, ttlMs: number): void;

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
