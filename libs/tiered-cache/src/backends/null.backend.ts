import type { CacheBackend, CacheEntry } from '../interfaces/cache-backend.interface.js';
import type { TierCommonOptions } from '../interfaces/tier-common-options.interface.js';
import { defineBackend } from './backend-definition.js';

/** The backend of `enabled: false` and `backend: 'null'`: every read misses, every write is dropped. */
export class NullBackend implements CacheBackend {
  readonly name: string = 'null';
  readonly synchronous = true;

  get(_key: string): CacheEntry | undefined {
    return undefined;
  }

  set(_key: string, _entry: CacheEntry, _ttlMs: number): void {}

  delete(_keys: readonly string[]): number {
    return 0;
  }

  async deletePattern(_glob: string): Promise<number> {
    return 0;
  }

  async deleteByTags(_tags: readonly string[]): Promise<number> {
    return 0;
  }

  async clear(_prefix: string): Promise<void> {}

  async ping(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {}

  size(): number {
    return 0;
  }
}

/** Options of a `null` tier: every read misses, every write is dropped. */
export interface NullTierOptions extends TierCommonOptions {
  backend: 'null';
}

/** `null`: every read misses, every write is dropped; no options of its own. */
export const nullBackend = defineBackend({
  name: 'null',
  options: [],
  resolve: (_tier: NullTierOptions): undefined => undefined,
  create: () => new NullBackend(),
});
