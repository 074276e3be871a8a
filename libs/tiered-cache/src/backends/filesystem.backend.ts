import { MAX_TIMER_MS, parsePositiveDuration } from '../core/duration.js';
import type { Duration } from '../interfaces/duration.interface.js';
import type { TierCommonOptions } from '../interfaces/tier-common-options.interface.js';
import { invalidOption, positiveInteger } from '../core/option-checks.js';
import { byteStoreBackend } from '../serialization/byte-store-backend.js';
import { DEFAULT_MAX_ENTRY_BYTES } from '../serialization/entry-codec.js';
import { DEFAULT_MAX_ENTRIES, defineBackend } from './backend-definition.js';

/** Options of a `filesystem` tier: one file per entry under `dir`; survives restarts. */
export interface FilesystemTierOptions extends TierCommonOptions {
  backend: 'filesystem';
  /** Directory of the entries; created when missing. */
  dir: string;
  /** Most entries kept; the pruner removes the ones closest to expiry beyond it. Default 10 000. */
  maxEntries?: number;
  /** How often expired files are pruned, off the request path. Default '1m'. */
  pruneInterval?: Duration;
  /** Largest entry read or written, in bytes. Default 64 MiB. */
  maxEntryBytes?: number;
}

/** The resolved options of a `filesystem` tier. */
export interface FilesystemSettings {
  readonly dir: string;
  readonly maxEntries: number;
  /** Interval between background prunes, in ms. */
  readonly pruneIntervalMs: number;
  /** Largest encoded entry written or read, in bytes. */
  readonly maxEntryBytes: number;
}

/**
 * `filesystem`: one file per entry under `dir` (a {@link FilesystemStore} under the serializing
 * adapter). Options `dir` (required), `maxEntries` (default 10 000), `pruneInterval` (default
 * '1m'), `maxEntryBytes` (default 64 MiB). A directory that cannot be created fails bootstrap.
 */
export const filesystemBackend = defineBackend({
  name: 'filesystem',
  options: ['dir', 'maxEntries', 'pruneInterval', 'maxEntryBytes'],
  defaultTimeoutMs: 1_000,
  resolve(tier: FilesystemTierOptions, path: string): FilesystemSettings {
    if (typeof tier.dir !== 'string' || tier.dir.trim() === '')
      throw invalidOption(`${path}.dir`, 'must be a directory path');
    return {
      dir: tier.dir,
      maxEntries: positiveInteger(tier.maxEntries, `${path}.maxEntries`) ?? DEFAULT_MAX_ENTRIES,
      pruneIntervalMs:
        tier.pruneInterval === undefined
          ? 60_000
          : parsePositiveDuration(tier.pruneInterval, `${path}.pruneInterval`, MAX_TIMER_MS),
      maxEntryBytes:
        positiveInteger(tier.maxEntryBytes, `${path}.maxEntryBytes`) ?? DEFAULT_MAX_ENTRY_BYTES,
    };
  },
  async create(settings, { role, clock, logger }) {
    const { FilesystemStore } = await import('./filesystem.store.js');
    let store;
    try {
      store = new FilesystemStore({ ...settings, clock, logger });
    } catch (err) {
      throw invalidOption(
        `${role}.dir`,
        `${JSON.stringify(settings.dir)} cannot be used (${err instanceof Error ? err.message : String(err)}); give a directory the process can create and write`,
      );
    }
    return byteStoreBackend(store, { maxEntryBytes: settings.maxEntryBytes });
  },
});
