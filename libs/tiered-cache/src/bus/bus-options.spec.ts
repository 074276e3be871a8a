import { Cluster, Redis } from 'ioredis';
import { resolveBusOptions } from './bus-options.js';

describe('resolveBusOptions', () => {
  const connection = new Redis({ lazyConnect: true });
  afterAll(() => connection.disconnect());

  it('applies the defaults', () => {
    const resolved = resolveBusOptions({ connection, namespace: 'cache' });
    expect(resolved).toMatchObject({
      channel: 'ntc:bus:cache',
      tracking: true,
      maxQueued: 10_000,
      publishTimeoutMs: 1_000,
      heartbeatMs: 1_000,
      connectTimeoutMs: 2_000,
    });
    expect(resolved.instanceId).toMatch(/^[\w-]{8}$/);
    expect(resolveBusOptions({ connection, namespace: 'cache' }).instanceId).not.toBe(
      resolved.instanceId,
    );
  });

  it('names the culprit of a bad option', () => {
    expect(() => resolveBusOptions({ connection, namespace: '' })).toThrow(
      expect.objectContaining({
        code: 'E_INVALID_OPTION',
        message: expect.stringContaining('"namespace"'),
      }),
    );
    expect(() => resolveBusOptions({ connection, namespace: 'c', maxQueued: 0 })).toThrow(
      /"maxQueued" must be a positive number, got 0/,
    );
    expect(() => resolveBusOptions({ connection: {} as Redis, namespace: 'c' })).toThrow(
      /"connection" must be an ioredis Redis or Cluster client/,
    );
  });

  it('accepts a Cluster (pub/sub messages only, see invalidation-bus.ts)', () => {
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    try {
      expect(resolveBusOptions({ connection: cluster, namespace: 'c' }).connection).toBe(cluster);
    } finally {
      cluster.disconnect();
    }
  });
});
