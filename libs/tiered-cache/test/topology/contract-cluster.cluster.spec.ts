import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from '@jest/globals';
import { describeBackendContract, type BackendContractTarget } from 'nest-tiered-cache/testing';
import { RedisClusterHarness } from '../redis-cluster.harness.js';

/**
 * The backend contract (`nest-tiered-cache/testing`, as test/contract.spec.ts runs it) on a real
 * Redis Cluster of 3 masters and 3 replicas: keys spread over every master, so pattern deletes,
 * tag deletes and clears must reach all of them, and the bus carries L1 evictions between the
 * contract's two instances over cluster pub/sub.
 */
let cluster: RedisClusterHarness;
const nodes = () => cluster.startupNodes;
/**
 * The contract checks what is stored and served, not deadlines: six redis-servers share this
 * machine's two cores, and a write that misses the default 250 ms deadline is (rightly) deleted,
 * which read as a lost value in 2 of about 10 runs. 2 s keeps such stalls out of the verdict.
 */
const TIMEOUT = '2s';

const targets: BackendContractTarget[] = [
  {
    name: 'redis on Cluster',
    tiers: () => ({ shared: { backend: 'redis', cluster: { nodes: nodes() }, timeout: TIMEOUT } }),
  },
  {
    name: 'memory + redis on Cluster',
    tiers: () => ({
      local: { backend: 'memory' },
      shared: { backend: 'redis', cluster: { nodes: nodes() }, timeout: TIMEOUT },
    }),
  },
];

beforeAll(async () => {
  cluster = await RedisClusterHarness.start();
});
afterAll(async () => {
  await cluster?.stop();
});

for (const target of targets)
  describeBackendContract(target, { describe, it, beforeEach, afterEach });
