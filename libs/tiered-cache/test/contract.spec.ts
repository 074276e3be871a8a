import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from '@jest/globals';
import { describeBackendContract, type BackendContractTarget } from 'nest-tiered-cache/testing';
import { RedisServerHarness } from './redis-server.harness.js';

let redis: RedisServerHarness;
/** The URL of this file's redis-server (started before any test runs). */
const redisUrl = () => redis.url;

/**
 * The Redis tiers' deadline here. The contract checks behaviour, not latency (deadlines have their
 * own tests): with the default 250 ms, a 2 MiB value written and read back while the other test
 * worker and its Redis share the two cores missed it once in a `.ci/run` (set + get of that value
 * takes 55 ms at the median and up to 150 ms with two busy cores here).
 */
const REDIS_TIMEOUT = '2s';

/**
 * Every built-in backend and the tier combinations of issue #2, through the suite exported as
 * `nest-tiered-cache/testing` (the very code third-party backends run): a new backend joins with
 * one line here.
 */
const targets: BackendContractTarget[] = [
  { name: 'memory', tiers: () => ({ local: { backend: 'memory' } }) },
  {
    name: 'memory-no-serializer',
    values: 'same',
    tiers: () => ({ local: { backend: 'memory-no-serializer' } }),
  },
  {
    name: 'redis',
    tiers: () => ({ shared: { backend: 'redis', url: redisUrl(), timeout: REDIS_TIMEOUT } }),
  },
  {
    name: 'redis-atomic',
    tiers: () => ({ shared: { backend: 'redis-atomic', url: redisUrl(), timeout: REDIS_TIMEOUT } }),
  },
  { name: 'filesystem', tiers: ({ dir }) => ({ local: { backend: 'filesystem', dir } }) },
  { name: 'null', values: 'none', tiers: () => ({ local: { backend: 'null' } }) },
  {
    name: 'memory + redis',
    tiers: () => ({
      local: { backend: 'memory' },
      shared: { backend: 'redis', url: redisUrl(), timeout: REDIS_TIMEOUT },
    }),
  },
  {
    name: 'memory-no-serializer + redis-atomic',
    values: 'same',
    tiers: () => ({
      local: { backend: 'memory-no-serializer' },
      shared: { backend: 'redis-atomic', url: redisUrl(), timeout: REDIS_TIMEOUT },
    }),
  },
  {
    name: 'filesystem + redis',
    tiers: ({ dir }) => ({
      local: { backend: 'filesystem', dir },
      shared: { backend: 'redis', url: redisUrl(), timeout: REDIS_TIMEOUT },
    }),
  },
];

beforeAll(async () => {
  redis = await RedisServerHarness.start();
});
afterAll(async () => {
  await redis?.stop();
});

for (const target of targets)
  describeBackendContract(target, { describe, it, beforeEach, afterEach });
