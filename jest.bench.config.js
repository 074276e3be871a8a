/**
 * `npm run test:bench`: the bench smoke test alone (`npm run bench -- --quick` end to end, into a
 * temporary folder), with the same transform as `npm test` (jest.config.js).
 */
import base, { BENCH_SMOKE_TEST } from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  roots: ['<rootDir>/test'],
  testMatch: [BENCH_SMOKE_TEST],
  testPathIgnorePatterns: ['/node_modules/'],
};
