import { LRUCache } from 'lru-cache';
import { globToRegExp } from '../keys/glob.js';

/**
 * An `lru-cache` with a tag index, shared by the two in-process backends. It keeps the stored form
 * itself (no wrapper object per entry); the tags of the few entries that have any are kept in a
 * side map, so an untagged entry costs nothing beyond lru-cache's own bookkeeping. Physical expiry
 * is lru-cache's (lazy, no timers); the tier above judges freshness on the entry itself.
 */
export class LruStore<S extends object> {
  private readonly lru: LRUCache<string, S>;
  private readonly tagIndex = new Map<string, Set<string>>();
  /** The tags of each tagged key (untagged keys are absent). */
  private readonly tagsOfKey = new Map<string, readonly string[]>();

  constructor(options: {
    maxEntries: number;
    maxBytes?: number;
    sizeOf?: (stored: S, key: string) => number;
  }) {
    this.lru = new LRUCache<string, S>({
      max: options.maxEntries,
      ...(options.maxBytes !== undefined && options.sizeOf !== undefined
        ? { maxSize: options.maxBytes, sizeCalculation: options.sizeOf }
        : {}),
      ttlAutopurge: false,
      updateAgeOnGet: false,
      allowStale: false,
      dispose: (_stored, key) => this.unindex(key),
    });
  }

  /** Reads the stored form; `undefined` when absent or expired. */
  get(key: string): S | undefined {
    return this.lru.get(key);
  }

  /** Stores for `ttlMs`; indexes the tags after the old value (if any) was disposed. */
  set(key: string, stored: S, tags: readonly string[], ttlMs: number): void {
    this.lru.set(key, stored, { ttl: ttlMs });
    if (tags.length > 0 && this.lru.has(key)) {
      this.tagsOfKey.set(key, tags);
      for (const tag of tags) {
        let keys = this.tagIndex.get(tag);
        if (keys === undefined) this.tagIndex.set(tag, (keys = new Set()));
        keys.add(key);
      }
    }
  }

  /** Deletes keys; returns how many were present. */
  delete(keys: readonly string[]): number {
    let removed = 0;
    for (const key of keys) if (this.lru.delete(key)) removed++;
    return removed;
  }

  /** Deletes keys matching a Redis glob; returns how many. */
  deletePattern(glob: string): number {
    const re = globToRegExp(glob);
    return this.deleteWhere((key) => re.test(key));
  }

  /** Deletes every key carrying one of the tags; returns how many distinct keys. */
  deleteByTags(tags: readonly string[]): number {
    const keys = new Set<string>();
    for (const tag of tags) for (const key of this.tagIndex.get(tag) ?? []) keys.add(key);
    return this.delete([...keys]);
  }

  /** Deletes every key starting with `prefix`. */
  clear(prefix: string): void {
    this.deleteWhere((key) => key.startsWith(prefix));
  }

  /** Number of records held (expired ones not yet reclaimed included). */
  get size(): number {
    return this.lru.size;
  }

  /** Drops everything. */
  reset(): void {
    this.lru.clear();
    this.tagIndex.clear();
    this.tagsOfKey.clear();
  }

  private deleteWhere(match: (key: string) => boolean): number {
    const doomed: string[] = [];
    for (const key of this.lru.keys()) if (match(key)) doomed.push(key);
    return this.delete(doomed);
  }

  private unindex(key: string): void {
    if (this.tagsOfKey.size === 0) return;
    const tags = this.tagsOfKey.get(key);
    if (tags === undefined) return;
    this.tagsOfKey.delete(key);
    for (const tag of tags) {
      const keys = this.tagIndex.get(tag);
      if (keys === undefined) continue;
      keys.delete(key);
      if (keys.size === 0) this.tagIndex.delete(tag);
    }
  }
}
