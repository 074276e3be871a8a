import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RedisClusterHarness } from '../../libs/tiered-cache/test/redis-cluster.harness.js';
import { type CacheWorker, closeWorkers, startWorkers } from '../multi-instance/cache-worker.js';
import { CHANGES, readsAfterChanges, ROUNDS } from '../multi-instance/cross-instance-changes.js';

/**
 * test/multi-instance/cross-instance.e2e-spec.ts on a real Redis Cluster (3 masters, 3 replicas):
 * two forked Nest apps (memory L1 + Redis Cluster L2, bus on, which is pub/sub on a Cluster). A
 * change made on A is seen by B's very next read, begun after A's call resolved: the instances
 * meet on the bus's home master, and a change resolves only after that master has written its
 * message to B's subscriber. Keys of every case spread over the three masters.
 */
describe('across two processes on a Redis Cluster, memory L1 + Redis L2', () => {
  let cluster: RedisClusterHarness;
  let a: CacheWorker;
  let b: CacheWorker;

  beforeAll(async () => {
    cluster = await RedisClusterHarness.start();
    const cache = {
      namespace: 'xc',
      ttl: 60,
      local: { backend: 'memory' as const, ttl: '1m' as const },
      shared: { backend: 'redis' as const, cluster: { nodes: cluster.startupNodes } },
    };
    [a, b] = await startWorkers([
      { name: 'A', cache },
      { name: 'B', cache },
    ]);
  });
  afterAll(async () => {
    try {
      await closeWorkers([a, b].filter((w) => w !== undefined));
    } finally {
      await cluster?.stop();
    }
  });

  it.each(CHANGES)("%s on A: B's next read never returns the old value", async (name, change) => {
    expect(await readsAfterChanges(a, b, name, change)).toEqual(
      Array.from({ length: ROUNDS }, () => change.expected),
    );
  });
});
