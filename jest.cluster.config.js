/**
 * `npm run test:cluster`: the suites that run on real Redis topologies started by the test
 * harness (`*.cluster.spec.ts`): a 3-master/3-replica Redis Cluster (redis-cluster.harness.ts) and
 * a Sentinel setup of one master, one replica and three sentinels (redis-sentinel.harness.ts),
 * with masters killed, paused and failed over mid-run. Each topology takes seconds to form and
 * each failover waits out the node timeout, so `npm test` leaves them out. Same transform as
 * `npm test` (jest.config.js).
 */
import base, { CLUSTER_TESTS } from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  testMatch: [CLUSTER_TESTS],
  testPathIgnorePatterns: ['/node_modules/'],
  // A failover waits out the cluster's node timeout, then the client's topology refresh.
  testTimeout: 60_000,
  // One topology at a time: two starve each other of the CPU (two cores) and their sentinels
  // and cluster nodes, with 1 s timeouts, then see failures that are not there.
  maxWorkers: 1,
};
