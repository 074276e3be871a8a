import type { CacheService } from '../cache.service.js';
import type { ContractTestRunner, ManualClock } from './contract-harness.js';

/** What the contract's cases see of the running test. */
export interface ContractCases {
  /** The runner's `it`. */
  readonly it: ContractTestRunner['it'];
  /** The cache's clock, moved by hand. */
  readonly clock: ManualClock;
  /** What readers get back (see `BackendContractTarget.values`). */
  readonly values: 'copy' | 'same' | 'none';
  /** `stored` when the target keeps entries, else undefined: what a read should return. */
  readonly kept: <T>(stored: T) => T | undefined;
  /** `stored` when the target keeps entries written with tags, else undefined (see `tags`). */
  readonly keptTagged: <T>(stored: T) => T | undefined;
  /** The root cache of the running test. */
  cache(): CacheService;
  /** A sibling cache under another namespace (the root's plus `x`). */
  sibling(): CacheService;
}
