import { afterAll, beforeAll } from '@jest/globals';
import { describeCacheContract, type ContractTarget } from './cache-contract.js';
import { RedisServerHarness } from './redis-server.harness.js';

/** Every backend and the tier combinations of issue #2: a new backend joins with one line. */
const targets: ContractTarget[] = [
  { name: 'memory', values: 'copy', tiers: () => ({ local: { backend: 'memory' } }) },
  {
    name: 'memory-no-serializer',
    values: 'same',
    tiers: () => ({ local: { backend: 'memory-no-serializer' } }),
  },
  {
    name: 'redis',
    values: 'copy',
    tiers: ({ redisUrl }) => ({ shared: { backend: 'redis', url: redisUrl } }),
  },
  {
    name: 'redis-atomic',
    values: 'copy',
    tiers: ({ redisUrl }) => ({ shared: { backend: 'redis-atomic', url: redisUrl } }),
  },
  {
    name: 'filesystem',
    values: 'copy',
    tiers: ({ dir }) => ({ local: { backend: 'filesystem', dir } }),
  },
  { name: 'null', values: 'none', tiers: () => ({ local: { backend: 'null' } }) },
  {
    name: 'memory + redis',
    values: 'copy',
    tiers: ({ redisUrl }) => ({
      local: { backend: 'memory' },
      shared: { backend: 'redis', url: redisUrl },
    }),
  },
  {
    name: 'memory-no-serializer + redis-atomic',
    values: 'same',
    tiers: ({ redisUrl }) => ({
      local: { backend: 'memory-no-serializer' },
      shared: { backend: 'redis-atomic', url: redisUrl },
    }),
  },
  {
    name: 'filesystem + redis',
    values: 'copy',
    tiers: ({ redisUrl, dir }) => ({
      local: { backend: 'filesystem', dir },
      shared: { backend: 'redis', url: redisUrl },
    }),
  },
];

const ctx = { redisUrl: '' };
let redis: RedisServerHarness;
beforeAll(async () => {
  redis = await RedisServerHarness.start();
  ctx.redisUrl = redis.url;
});
afterAll(async () => {
  await redis?.stop();
});

for (const target of targets) describeCacheContract(target, ctx);
