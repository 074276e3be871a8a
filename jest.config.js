/**
 * Jest runs the TypeScript sources as native ESM (NestJS 12 is ESM-only), transpiled by ts-jest
 * one file at a time; `npm test` type-checks the whole tree with tsc before Jest starts.
 *
 * The bench smoke test runs `npm run bench -- --quick` end to end (over a minute of both cores),
 * so `npm test` leaves it out and `npm run test:bench` (jest.bench.config.js) runs it. The
 * multi-instance soaks (`*.soak-spec.ts`, about a minute and a half) are not matched here either:
 * `npm run test:soak` (jest.soak.config.js) runs them. Nor is the packaging test
 * (`npm run test:compat`, jest.compat.config.js). Nor are the suites on a real Redis Cluster and
 * Sentinel (`*.cluster.spec.ts`, `npm run test:cluster`, jest.cluster.config.js).
 *
 * Jest's default is one worker per core but one; the suites mostly wait on Redis servers, forked
 * apps and sockets, so two workers on a two-core machine halve the run (measured: 150 s with one,
 * 71 s with two, every suite passing).
 */
import { availableParallelism } from 'node:os';

/** The bench smoke test, run by `npm run test:bench` only. */
export const BENCH_SMOKE_TEST = '<rootDir>/test/bench.e2e-spec.ts';

/** The multi-instance soaks, run by `npm run test:soak` only. */
export const SOAK_TESTS = '**/*.soak-spec.ts';

/** The suites on real Redis Cluster and Sentinel topologies, run by `npm run test:cluster` only. */
export const CLUSTER_TESTS = '**/*.cluster.spec.ts';
const CLUSTER_TESTS_PATH = '\\.cluster\\.spec\\.ts$';

/**
 * The packaging test (the packed tarball installed in the apps of test/compat/, each with its own
 * node_modules and test runner), run by `npm run test:compat` only (jest.compat.config.js).
 */
export const COMPAT_TEST = '<rootDir>/test/compat.e2e-spec.ts';
export const COMPAT_APPS = '<rootDir>/test/compat/';

/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/libs', '<rootDir>/apps', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  testPathIgnorePatterns: [
    '/node_modules/',
    BENCH_SMOKE_TEST,
    COMPAT_TEST,
    COMPAT_APPS,
    CLUSTER_TESTS_PATH,
  ],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^nest-tiered-cache$': '<rootDir>/libs/tiered-cache/src/index.ts',
    '^nest-tiered-cache/testing$': '<rootDir>/libs/tiered-cache/src/testing/index.ts',
    '^nest-tiered-cache/compat$': '<rootDir>/libs/tiered-cache/src/compat/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.json' }],
  },
  modulePathIgnorePatterns: ['<rootDir>/dist', '<rootDir>/libs/tiered-cache/dist', COMPAT_APPS],
  testTimeout: 20000,
  maxWorkers: Math.max(2, availableParallelism() - 1),
};
