import { Redis } from 'ioredis';
import { defaultRedisOptions, waitUntilReady } from '../src/backends/redis-connection.js';
import type { InvalidationBusOptions } from '../src/bus/bus-options.js';
import { InvalidationBus } from '../src/bus/invalidation-bus.js';
import { closeRedis, hasKey, RecordingLogger } from './bus-test-node.js';
import { RedisSentinelHarness, SENTINEL_MASTER_NAME } from './redis-sentinel.harness.js';
import { RedisServerHarness } from './redis-server.harness.js';
import { waitFor } from './wait-for.js';

describe('InvalidationBus through Sentinel', () => {
  let master: RedisServerHarness;
  let replica: RedisServerHarness;
  let sentinel: RedisSentinelHarness;
  const opened: { bus: InvalidationBus; connection: Redis }[] = [];

  beforeAll(async () => {
    master = await RedisServerHarness.start();
    replica = await RedisServerHarness.start(['--replicaof', '127.0.0.1', String(master.port)]);
    // The sentinel learns of replicas from the master's INFO, at start and then every 10 s.
    const probe = new Redis(replica.url, defaultRedisOptions());
    try {
      await waitUntilReady(probe, 2_000);
      await waitFor(
        async () => (await probe.info('replication')).includes('master_link_status:up'),
        'the replica is in sync',
        10_000,
        20,
      );
    } finally {
      await closeRedis(probe);
    }
    sentinel = await RedisSentinelHarness.start(master.port);
  });
  afterAll(async () => {
    for (const { bus, connection } of opened) {
      await bus.close();
      await closeRedis(connection);
    }
    await sentinel.stop();
    await Promise.all([master.stop(), replica.stop()]);
  });

  async function node(options: Partial<InvalidationBusOptions> = {}) {
    const connection = new Redis({
      ...defaultRedisOptions(),
      sentinels: [{ host: '127.0.0.1', port: sentinel.port }],
      name: SENTINEL_MASTER_NAME,
      // Reconnect on Sentinel's +switch-master at once, rather than when the old master is demoted.
      failoverDetector: true,
    });
    connection.on('error', () => undefined);
    await waitUntilReady(connection, 2_000);
    const bus = new InvalidationBus({
      connection,
      namespace: 'ns',
      heartbeatMs: 100,
      publishTimeoutMs: 200,
      logger: new RecordingLogger(),
      ...options,
    });
    const received: string[] = [];
    const gaps: string[] = [];
    bus.onRemoteInvalidation((i) => received.push(JSON.stringify(i)));
    bus.onGap((reason) => gaps.push(reason));
    opened.push({ bus, connection });
    await bus.start();
    return { bus, connection, received, gaps };
  }

  it('tracks and carries messages on the master Sentinel names, and recovers after kill -9', async () => {
    const a = await node();
    const b = await node();
    expect(b.bus.stats()).toMatchObject({ connected: true, mode: 'tracking' });
    await a.connection.set('ns:via-sentinel', '1');
    await waitFor(
      () => b.received.some((i) => hasKey(JSON.parse(i), 'ns:via-sentinel')),
      'b sees a write through tracking',
    );
    void a.bus.publish({ kind: 'tags', tags: ['ns:t'] });
    await waitFor(() => b.received.includes('{"kind":"tags","tags":["ns:t"]}'), 'b gets a message');
    await master.kill();
    await master.restart();
    await waitFor(() => a.gaps.length > 0 && b.gaps.length > 0, 'both report a gap', 10_000);
    await waitFor(() => b.bus.stats().connected, 'b is connected again');
    await a.connection.set('ns:after', '1');
    await waitFor(
      () => b.received.some((i) => hasKey(JSON.parse(i), 'ns:after')),
      'b sees a write after the restart',
    );
  });

  it('follows a failover to the replica: gap reported, tracking and messages on the new master', async () => {
    const a = await node();
    const b = await node();
    await waitFor(
      async () => (await sentinel.command(`SENTINEL replicas ${SENTINEL_MASTER_NAME}`)) !== '*0',
      'the sentinel knows the replica',
      15_000,
      50,
    );
    expect(await sentinel.command(`SENTINEL failover ${SENTINEL_MASTER_NAME}`)).toBe('+OK');
    await waitFor(() => a.gaps.length > 0 && b.gaps.length > 0, 'both report a gap', 15_000);
    await waitFor(() => a.bus.stats().connected && b.bus.stats().connected, 'both reconnect');
    expect(await replica.command('ROLE')).toBe('*3');
    expect((a.connection as unknown as { stream: { remotePort: number } }).stream.remotePort).toBe(
      replica.port,
    );
    await a.connection.set('ns:after-failover', '1');
    await waitFor(
      () => b.received.some((i) => hasKey(JSON.parse(i), 'ns:after-failover')),
      'b sees a write on the new master',
    );
    void a.bus.publish({ kind: 'pattern', glob: 'ns:x*' });
    await waitFor(
      () => b.received.includes('{"kind":"pattern","glob":"ns:x*"}'),
      'b gets a message',
    );
  });
});
