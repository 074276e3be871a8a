import { BenchCluster } from '../infra/redis-cluster.js';
import type { BenchContext } from './context.js';
import { runLibraryScenario, type LibraryScenarioResult } from './library.js';

/**
 * Redis Cluster against one Redis node: Redis-only `getOrSet` hits with 100 in flight, through the
 * library and through raw ioredis, on the bench's single node and on a 3-master cluster started
 * for it (no replicas) on the same machine. The ratio is to raw ioredis on the single node.
 */
export async function runClusterScenario(ctx: BenchContext): Promise<LibraryScenarioResult> {
  ctx.log('Cluster vs single node: starting a 3-master Redis Cluster');
  const cluster = await BenchCluster.start(3);
  try {
    return await runLibraryScenario(ctx, {
      id: 'cluster',
      title: 'Redis Cluster vs single node (Redis hits, 100 in flight)',
      contenders: ['ioredis-raw', 'ioredis-cluster-raw', 'ours-redis', 'ours-redis-cluster'],
      inflight: 100,
      redisUrls: { 'ioredis-cluster-raw': cluster.url, 'ours-redis-cluster': cluster.url },
    });
  } finally {
    await cluster.stop();
  }
}
