/**
 * Jest runs the TypeScript sources as native ESM (NestJS 12 is ESM-only), transpiled by ts-jest
 * one file at a time; `npm test` type-checks the whole tree with tsc before Jest starts.
 *
 * The bench smoke test runs `npm run bench -- --quick` end to end (over a minute of both cores),
 * so `npm test` leaves it out and `npm run test:bench` (jest.bench.config.js) runs it. The
 * multi-instance soaks (`*.soak-spec.ts`, about a minute and a half) are not matched here either:
 * `npm run test:soak` (jest.soak.config.js) runs them.
 */

/** The bench smoke test, run by `npm run test:bench` only. */
export const BENCH_SMOKE_TEST = '<rootDir>/test/bench.e2e-spec.ts';

/** The multi-instance soaks, run by `npm run test:soak` only. */
export const SOAK_TESTS = '**/*.soak-spec.ts';

/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/libs', '<rootDir>/apps', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', BENCH_SMOKE_TEST],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^nest-tiered-cache$': '<rootDir>/libs/tiered-cache/src/index.ts',
    '^nest-tiered-cache/testing$': '<rootDir>/libs/tiered-cache/src/testing/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.json' }],
  },
  modulePathIgnorePatterns: ['<rootDir>/dist', '<rootDir>/libs/tiered-cache/dist'],
  testTimeout: 20000,
};
