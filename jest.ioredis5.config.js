/**
 * `npm run test:ioredis5`: the suites of `npm test` (jest.config.js) that talk to Redis in the test
 * process, with the library and the tests loading ioredis 5 (the `ioredis5` dev dependency)
 * wherever they import `ioredis`. The library's peer range is `^5.2.5 || ^6`; `npm test` runs on 6.
 * A suite is picked by its text (it starts a redis-server, imports ioredis or configures a Redis
 * tier): the others never load ioredis, so running them again would test nothing new. Processes
 * the tests spawn (the demo, the atomic workers) load the built library with ioredis 6.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import base from './jest.config.js';

const USES_REDIS = /RedisServerHarness|from 'ioredis'|backend: 'redis|redis-server/;
const SUITE = /\.(e2e-)?spec\.ts$/;

/** The suites under `dir` whose text uses Redis. */
function redisSuites(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'dist') found.push(...redisSuites(path));
    } else if (SUITE.test(entry.name) && USES_REDIS.test(readFileSync(path, 'utf8'))) {
      found.push(path);
    }
  }
  return found;
}

const suites = ['libs', 'apps', 'test'].flatMap((dir) => redisSuites(dir));
if (suites.length < 20)
  throw new Error(`jest.ioredis5.config.js found only ${suites.length} suites`);

/** @type {import('jest').Config} */
export default {
  ...base,
  testMatch: suites.map((path) => `<rootDir>/${path}`),
  moduleNameMapper: { '^ioredis$': 'ioredis5', ...base.moduleNameMapper },
};
