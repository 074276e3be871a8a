import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from '@jest/globals';
import { describeBackendContract, type BackendContractTarget } from 'nest-tiered-cache/testing';
import { RedisServerHarness } from './redis-server.harness.js';

let redis: RedisServerHarness;
/** The URL of this file's redis-server (started before any test runs). */
const redisUrl = () => redis.url;

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
  { name: 'redis', tiers: () => ({ shared: { backend: 'redis', url: redisUrl() } }) },
  {
    name: 'redis-atomic',
    tiers: () => ({ shared: { backend: 'redis-atomic', url: redisUrl() } }),
  },
  { name: 'filesystem', tiers: ({ dir }) => ({ local: { backend: 'filesystem', dir } }) },
  { name: 'null', values: 'none', tiers: () => ({ local: { backend: 'null' } }) },
  {
    name: 'memory + redis',
    tiers: () => ({
      local: { backend: 'memory' },
      shared: { backend: 'redis', url: redisUrl() },
    }),
  },
  {
    name: 'memory-no-serializer + redis-atomic',
    values: 'same',
    tiers: () => ({
      local: { backend: 'memory-no-serializer' },
      shared: { backend: 'redis-atomic', url: redisUrl() },
    }),
  },
  {
    name: 'filesystem + redis',
    tiers: ({ dir }) => ({
      local: { backend: 'filesystem', dir },
      shared: { backend: 'redis', url: redisUrl() },
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
