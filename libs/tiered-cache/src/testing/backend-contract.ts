import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CacheModuleOptions } from '../interfaces/cache-module-options.interface.js';
import type { ContractCases } from './contract-cases.js';
import {
  bootContractApp,
  ManualClock,
  resolveRunner,
  SILENT_LOGGER,
  type ContractApp,
  type ContractTestRunner,
} from './contract-harness.js';
import { hostileValueCases } from './contract-hostile.cases.js';
import { invalidationCases } from './contract-invalidation.cases.js';
import { originCases } from './contract-origin.cases.js';
import { storageCases } from './contract-storage.cases.js';

/** What a target's `tiers` gets for each test. */
export interface BackendContractContext {
  /** A fresh, empty directory, removed after the test (for backends that keep files). */
  readonly dir: string;
}

/** One backend, or tier combination, to run through the contract. */
export interface BackendContractTarget {
  /** Shown in the test names: `backend contract: <name>`. */
  readonly name: string;
  /** The tiers to test, built afresh for every test (`{ shared: { backend: MyBackend } }`...). */
  readonly tiers: (context: BackendContractContext) => Pick<CacheModuleOptions, 'local' | 'shared'>;
  /**
   * What readers get back: `'copy'` (default) equal copies, never the stored object; `'same'` the
   * very object stored (like `memory-no-serializer`); `'none'` nothing is ever stored (like `null`).
   */
  readonly values?: 'copy' | 'same' | 'none';
  /**
   * Whether every tier's backend deletes by tag (default true). `false` for a backend without the
   * optional `deleteByTags`: an entry written with tags is then not kept (the write removes the
   * key's older value instead), and a tag delete removes nothing.
   */
  readonly tags?: boolean;
}

let sequence = 0;

/**
 * Registers the behavioural contract every backend passes (the built-in ones run it too): misses,
 * rich values, TTLs on the cache's clock, overwrites, deletes by key, pattern and tag, bulk reads
 * and writes, merge, clear of one namespace only, large values, unicode keys, single-flight,
 * stale-on-error and stats, and hostile values (JSON-parsed `__proto__` fields stay own data). Each test boots a real Nest application context with
 * `CacheModule.forRoot` and the target's tiers, and closes it afterwards.
 *
 * Assertions throw `node:assert` errors and the tests are registered with the runner's
 * `describe`, `it`, `beforeEach` and `afterEach` (given, or found as globals), so no particular
 * runner is needed: Jest and `node:test` are tested; Vitest and Mocha have the same hooks.
 */
export function describeBackendContract(
  target: BackendContractTarget,
  runner?: ContractTestRunner,
): void {
  const { describe, it, beforeEach, afterEach } = resolveRunner(runner);
  const values = target.values ?? 'copy';
  const stores = values !== 'none';
  /** What a read returns: `stored` when the target keeps entries, else undefined. */
  const kept = <T>(stored: T): T | undefined => (stores ? stored : undefined);
  const storesTagged = stores && target.tags !== false;
  /** What a read of an entry written with tags returns. */
  const keptTagged = <T>(stored: T): T | undefined => (storesTagged ? stored : undefined);

  describe(`backend contract: ${target.name}`, () => {
    const clock = new ManualClock();
    let running: ContractApp | undefined;
    let dir: string;

    beforeEach(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'ntc-contract-'));
      const { local, shared } = target.tiers({ dir });
      running = await bootContractApp({
        namespace: `contract${++sequence}`,
        ttl: 60,
        clock: clock.read,
        logger: SILENT_LOGGER,
        ...(local === undefined ? {} : { local }),
        ...(shared === undefined ? {} : { shared }),
      });
    });

    afterEach(async () => {
      await running?.app.close();
      running = undefined;
      rmSync(dir, { recursive: true, force: true });
    });

    const cases: ContractCases = {
      it,
      clock,
      values,
      kept,
      keptTagged,
      cache: () => running!.cache,
      sibling: () => running!.sibling,
    };
    storageCases(cases);
    invalidationCases(cases);
    originCases(cases);
    hostileValueCases(cases);
  });
}
