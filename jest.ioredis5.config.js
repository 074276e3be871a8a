/**
 * `npm run test:ioredis5`: the same suites as `npm test` (jest.config.js), with the library and the
 * tests loading ioredis 5 (the `ioredis5` dev dependency) wherever they import `ioredis`. The
 * library's peer range is `^5.2.5 || ^6`; `npm test` runs on 6. Processes the tests spawn (the
 * demo, the atomic workers) load the built library with ioredis 6.
 */
import base from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  moduleNameMapper: { '^ioredis$': 'ioredis5', ...base.moduleNameMapper },
};
