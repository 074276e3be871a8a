import { LRUCache } from 'lru-cache';
import { globToRegExp } from '../keys/glob.js';

/** What the LRU keeps per key: the stored form and the entry's tags (for the tag index). */
export interface LruRecord<S> {
  readonly stored: S;
  readonly tags: readonly string[];
}

/**
 * An `lru-cache` with a tag index, shared by the two in-process backends. Physical expiry is
 * lru-cache's (lazy, no timers); the tier above judges freshness on the entry itself.
 */
export class LruStore<S extends {}> {
  private readonly lru: LRUCache<string, LruRecord<S>>;
  private readonly tagIndex = new Map<string, Set<string>>();

  constructor(options: { maxEntries: number; maxBytes?: number; sizeOf?: (record: LruRecord<S>, key: string) => number }) {
    this.lru = new LRUCache<string, LruRecord<S>>({
      max: options.maxEntries,
      ...(options.maxBytes !== undefined && options.sizeOf !== undefined
        ? { maxSize: options.maxBytes, sizeCalculation: options.sizeOf }
        : {}),
      ttlAutopurge: false,
      updateAgeOnGet: false,
      allowStale: false,
      dispose: (record, key) => this.unindex(key, record.tags),
    });
  }

  /** Reads a record; `undefined` when absent or expired. */
  get(key: string): LruRecord<S> | undefined {
    return this.lru.get(key);
  }

  /** Stores a record for `ttlMs`; indexes its tags after the old record (if any) was disposed. */
  set(key: string, stored: S, tags: readonly string[], ttlMs: number): void {
    this.lru.set(key, { stored, tags }, { ttl: ttlMs });
    if (tags.length > 0 && this.lru.has(key)) {
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
  }

  private deleteWhere(match: (key: string) => boolean): number {
    const doomed: string[] = [];
    for (const key of this.lru.keys()) if (match(key)) doomed.push(key);
    return this.delete(doomed);
  }

  private unindex(key: string, tags: readonly string[]): void {
    for (const tag of tags) {
      const keys = this.tagIndex.get(tag);
      if (keys === undefined) continue;
      keys.delete(key);
      if (keys.size === 0) this.tagIndex.delete(tag);
    }
  }
}
