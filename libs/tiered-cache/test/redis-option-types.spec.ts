import { describe, expect, it } from '@jest/globals';
import { Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisTierOptions } from '../src/interfaces/cache-module-options.interface.js';

// The Redis tier's option types describe ioredis by shape, so that the published types compile
// without ioredis; this spec (type-checked by `npm test`) makes sure real ioredis values still fit.
describe('Redis tier option types', () => {
  it('take an ioredis client, its options and cluster nodes as they are', () => {
    const redisOptions: RedisOptions = { lazyConnect: true, db: 1 };
    const client = new Redis(redisOptions); // lazyConnect: opens no connection
    const nodes: ClusterNode[] = ['127.0.0.1:7000', 7001, { host: '127.0.0.1', port: 7002 }];
    const clusterOptions: ClusterOptions = { scaleReads: 'slave' };
    const byClient: RedisTierOptions = { backend: 'redis', client };
    const byCluster: RedisTierOptions = {
      backend: 'redis-atomic',
      cluster: { nodes, options: clusterOptions },
      redisOptions,
    };
    expect(byClient.client).toBe(client);
    expect(byCluster.cluster?.nodes).toHaveLength(3);
    client.disconnect();
  });
});
