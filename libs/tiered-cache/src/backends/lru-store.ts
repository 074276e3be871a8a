import { LRUCache } from 'lru-cache';
import { globToRegExp } from '../keys/glob.js';
import { flatString } from '../keys/stored-key.js';

/** What {@link LruStore} needs to know of a stored record: until when it may be served at all. */
export interface Expiring {
  /** Epoch ms on the cache's clock after which the record is dead (`CacheEntry.staleUntil`). */
  readonly staleUntil: number;
}

/**
 * An `lru-cache` with a tag index, shared by the two in-process backends. It keeps the stored form
 * itself (no wrapper object per entry); the tags of the few entries that have any are kept in a
 * side map, so an untagged entry costs nothing beyond lru-cache's own bookkeeping.
 *
 * No per-entry TTL in lru-cache (that would cost two numbers per slot and a clock reading): the
 * tier above judges freshness on the record's own times, and LRU eviction bounds the memory. A
 * dead record is reclaimed when read, judged against the latest time the cache's clock is known
 * to have reached: every write tells it (`staleUntil - ttlMs` is the writer's "now"), so reads
 * never read a clock.
 */
export class LruStore<S extends Expiring> {
  private readonly lru: LRUCache<string, S>;
  private readonly tagIndex = new Map<string, Set<string>>();
  /** The tags of each tagged key (untagged keys are absent). */
  private readonly tagsOfKey = new Map<string, readonly string[]>();
  /** Epoch ms the cache's clock has certainly reached (the latest writer's "now"). */
  private clockFloor = Number.NEGATIVE_INFINITY;

  constructor(options: { maxEntries: number; maxBytes?: number }) {
    this.lru = new LRUCache<string, S>({
      max: options.maxEntries,
      ...(options.maxBytes !== undefined ? { maxSize: options.maxBytes } : {}),
      dispose: (_stored, key) => this.unindex(key),
    });
  }

  /** Reads the stored form; `undefined` when absent, or dead (then it is deleted). */
  get(key: string): S | undefined {
    flatString(key);
    const stored = this.lru.get(key);
    if (stored === undefined || stored.staleUntil > this.clockFloor) return stored;
    this.lru.delete(key);
    return undefined;
  }

  /**
   * Stores a record kept for `ttlMs` (`staleUntil - now` on the cache's clock); `size` is its
   * weight against `maxBytes`, when set. Indexes the tags after the old record (if any) was
   * disposed. Returns false when the record alone is larger than `maxBytes` (nothing is stored,
   * and an older record of the key is gone).
   */
  set(key: string, stored: S, tags: readonly string[], ttlMs: number, size?: number): boolean {
    flatString(key);
    const now = stored.staleUntil - ttlMs;
    if (now > this.clockFloor) this.clockFloor = now;
    this.lru.set(key, stored, size === undefined ? undefined : { size });
    if (tags.length === 0) return size === undefined || this.lru.has(key);
    if (!this.lru.has(key)) return false;
    this.tagsOfKey.set(key, tags);
    for (const tag of tags) {
      let keys = this.tagIndex.get(tag);
      if (keys === undefined) this.tagIndex.set(tag, (keys = new Set()));
      keys.add(key);
    }
    return true;
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

  /** Number of records held (dead ones not yet reclaimed included). */
  get size(): number {
    return this.lru.size;
  }

  /** Sum of the `size` of the records held (0 without `maxBytes`). */
  get bytes(): number {
    return this.lru.calculatedSize;
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
