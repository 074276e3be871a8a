/**
 * `npm run test:soak`: the multi-instance soaks (test/multi-instance/*.soak-spec.ts): forked Nest
 * apps on a real redis-server, random operations for a few seconds each, Redis restarted, killed,
 * paused and partitioned mid-run, every read checked. About a minute and a half of both cores, so
 * `npm test` leaves them out. Same transform as `npm test` (jest.config.js).
 */
import base, { SOAK_TESTS } from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  roots: ['<rootDir>/test'],
  testMatch: [SOAK_TESTS],
  testPathIgnorePatterns: ['/node_modules/'],
  // A soak runs for several seconds, plus starting and closing its processes.
  testTimeout: 60_000,
};
