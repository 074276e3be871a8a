import type { INestApplicationContext, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CacheModule } from '../cache.module.js';
import { CacheService } from '../cache.service.js';
import { getCacheToken } from '../cache.constants.js';
import type { CacheModuleOptions } from '../interfaces/cache-module-options.interface.js';

/**
 * The hooks of a test runner the contract suite registers its tests with. Jest, Vitest, Mocha
 * and `node:test` all provide them under these names.
 */
export interface ContractTestRunner {
  describe(name: string, body: () => void): unknown;
  it(name: string, test: () => Promise<void>): unknown;
  beforeEach(hook: () => Promise<void> | void): unknown;
  afterEach(hook: () => Promise<void> | void): unknown;
}

/** The runner given, or the one the test framework installed as globals; throws when there is none. */
export function resolveRunner(given: ContractTestRunner | undefined): ContractTestRunner {
  if (given !== undefined) return given;
  const g = globalThis as unknown as Partial<ContractTestRunner>;
  if (
    typeof g.describe !== 'function' ||
    typeof g.it !== 'function' ||
    typeof g.beforeEach !== 'function' ||
    typeof g.afterEach !== 'function'
  ) {
    throw new Error(
      "describeBackendContract: no describe/it/beforeEach/afterEach globals; pass your test runner's, e.g. describeBackendContract(target, { describe, it, beforeEach, afterEach })",
    );
  }
  return g as ContractTestRunner;
}

/** A clock the suite moves by hand, in epoch ms. */
export class ManualClock {
  now = 1_700_000_000_000;
  readonly read = (): number => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

/** A logger that keeps quiet: the suite asserts on stats, not on log lines. */
export const SILENT_LOGGER: LoggerService = {
  log: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** A running Nest application context with the root cache and a sibling cache under another namespace. */
export interface ContractApp {
  readonly app: INestApplicationContext;
  /** The root cache (`CacheService`). */
  readonly cache: CacheService;
  /** A named cache (`forFeature`) whose namespace is the root's plus `x`: a sibling, not a child. */
  readonly sibling: CacheService;
}

/**
 * Boots a real Nest application context with `CacheModule.forRoot(options)` (the way an
 * application would) and a sibling `forFeature` cache; `app.close()` closes the tiers.
 */
export async function bootContractApp(options: CacheModuleOptions): Promise<ContractApp> {
  const namespace = options.namespace ?? 'cache';
  class ContractModule {}
  const app = await NestFactory.createApplicationContext(
    {
      module: ContractModule,
      imports: [
        CacheModule.forRoot(options),
        CacheModule.forFeature({ name: 'sibling', namespace: `${namespace}x` }),
      ],
    },
    { logger: false, abortOnError: false },
  );
  return {
    app,
    cache: app.get(CacheService),
    sibling: app.get<CacheService>(getCacheToken('sibling')),
  };
}

/** A promise with its resolve exposed. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
