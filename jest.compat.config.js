/**
 * `npm run test:compat`: the packaging test alone (test/compat.e2e-spec.ts: `npm pack` of the
 * library, installed with a plain `npm install` in each app of test/compat/, whose own e2e suite
 * then runs), with the same transform as `npm test` (jest.config.js).
 */
import base, { COMPAT_TEST } from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  roots: ['<rootDir>/test'],
  testMatch: [COMPAT_TEST],
  testPathIgnorePatterns: ['/node_modules/'],
};
