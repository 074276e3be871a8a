import type { CacheEntry } from '../interfaces/cache-backend.interface.js';
import type { TierCommonOptions } from '../interfaces/tier-common-options.interface.js';
import { positiveInteger } from '../core/option-checks.js';
import { DEFAULT_MAX_ENTRIES, defineBackend } from './backend-definition.js';
import { compactEntry } from './compact-entry.js';
import { LruBackend } from './lru-backend.js';
import { LruStore } from './lru-store.js';

/**
 * In-process LRU that keeps the value itself: no serialization at all, the fastest tier, and the
 * one for values that must not be serialized (ORM entities, class instances). A later reader gets
 * the very object that was stored, so mutations are visible to it. Untagged entries are kept in a
 * compact form (see `compact-entry.ts`); a read returns that stored entry, allocating nothing.
 */
export class MemoryNoSerializerBackend extends LruBackend<CacheEntry> {
  readonly name: string = 'memory-no-serializer';

  constructor(options: { maxEntries: number }) {
    super(new LruStore<CacheEntry>({ maxEntries: options.maxEntries }));
  }

  get(key: string): CacheEntry | undefined {
    return this.store.get(key);
  }

  set(key: string, entry: CacheEntry, ttlMs: number): void {
    this.store.set(key, compactEntry(entry), entry.tags, ttlMs);
  }
}

/** Options of a `memory-no-serializer` tier: an in-process LRU that keeps the very object it was given. */
export interface MemoryNoSerializerTierOptions extends TierCommonOptions {
  backend: 'memory-no-serializer';
  /** Most entries kept before the least recently used is evicted. Default 10 000. */
  maxEntries?: number;
}

/** `memory-no-serializer`: option `maxEntries` (default 10 000). */
export const memoryNoSerializerBackend = defineBackend({
  name: 'memory-no-serializer',
  options: ['maxEntries'],
  resolve: (tier: MemoryNoSerializerTierOptions, path: string): { maxEntries: number } => ({
    maxEntries: positiveInteger(tier.maxEntries, `${path}.maxEntries`) ?? DEFAULT_MAX_ENTRIES,
  }),
  create: (settings) => new MemoryNoSerializerBackend(settings),
});
