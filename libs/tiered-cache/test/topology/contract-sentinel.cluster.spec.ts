import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from '@jest/globals';
import { describeBackendContract, type BackendContractTarget } from 'nest-tiered-cache/testing';
import { SENTINEL_MASTER_NAME } from '../redis-sentinel.harness.js';
import { RedisSentinelTopology } from '../redis-sentinel-topology.harness.js';

/**
 * The backend contract (`nest-tiered-cache/testing`, as test/contract.spec.ts runs it) through
 * Redis Sentinel: one master, one replica, three sentinels.
 */
let topology: RedisSentinelTopology;
const sentinel = () => ({ sentinels: topology.sentinelAddresses, name: SENTINEL_MASTER_NAME });

const targets: BackendContractTarget[] = [
  {
    name: 'redis through Sentinel',
    tiers: () => ({ shared: { backend: 'redis', sentinel: sentinel() } }),
  },
  {
    name: 'redis-atomic through Sentinel',
    tiers: () => ({ shared: { backend: 'redis-atomic', sentinel: sentinel() } }),
  },
  {
    name: 'memory + redis through Sentinel',
    tiers: () => ({
      local: { backend: 'memory' },
      shared: { backend: 'redis', sentinel: sentinel() },
    }),
  },
];

beforeAll(async () => {
  topology = await RedisSentinelTopology.start();
});
afterAll(async () => {
  await topology?.stop();
});

for (const target of targets)
  describeBackendContract(target, { describe, it, beforeEach, afterEach });
