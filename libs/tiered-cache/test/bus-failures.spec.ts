import { Redis } from 'ioredis';
import { defaultRedisOptions, waitUntilReady } from '../src/backends/redis-connection.js';
import { closeRedis, hasKey, startNode, type BusNode } from './bus-test-node.js';
import { RedisServerHarness } from './redis-server.harness.js';
import { TcpProxy } from './tcp-proxy.js';
import { waitFor } from './wait-for.js';

describe('InvalidationBus when Redis stops answering (SIGSTOP)', () => {
  let server: RedisServerHarness;
  let a: BusNode;
  let b: BusNode;

  beforeAll(async () => {
    server = await RedisServerHarness.start();
  });
  afterAll(() => server.stop());

  // A heartbeat longer than the pause keeps the subscribers on their connections, so the
  // messages published late are certain to reach them.
  beforeEach(async () => {
    [a, b] = await Promise.all([
      startNode(server.url, { heartbeatMs: 10_000, publishTimeoutMs: 50, maxQueued: 3 }),
      startNode(server.url, { heartbeatMs: 10_000 }),
    ]);
  });
  afterEach(async () => {
    server.resume();
    await Promise.all([a.close(), b.close()]);
  });

  it('queues a publish that fails and retries it once Redis answers again', async () => {
    server.pause();
    void a.bus.publish({ kind: 'pattern', glob: 'ns:paused:*' });
    await waitFor(() => a.bus.stats().publishFailures >= 2, 'two failed attempts');
    expect(a.bus.stats().queued).toBe(1);
    server.resume();
    await b.receive((i) => i.kind === 'pattern' && i.glob === 'ns:paused:*', 'b receives it');
    await waitFor(() => a.bus.stats().queued === 0, 'the queue empties');
    expect(b.gaps).toEqual([]);
  });

  it('never holds more than maxQueued items: beyond it the queue folds into a namespace clear', async () => {
    server.pause();
    for (let i = 0; i < 10; i++) {
      void a.bus.publish({ kind: 'keys', keys: [`ns:k${i}`] });
      expect(a.bus.stats().queued).toBeLessThanOrEqual(3);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(a.bus.stats().queueOverflows).toBeGreaterThanOrEqual(1);
    expect(a.bus.stats().queued).toBeLessThanOrEqual(3);
    server.resume();
    await b.receive((i) => i.kind === 'clear' && i.prefix === 'ns:', 'b receives the clear');
    await waitFor(() => a.bus.stats().queued === 0, 'the queue empties');
  });
});

describe.each([
  ['an ACL that forbids CLIENT TRACKING', [], 'ACL SETUSER default -client|tracking'],
  ['CLIENT renamed away (as behind a proxy)', ['--rename-command', 'CLIENT', ''], undefined],
])('InvalidationBus falls back to pub/sub with %s', (_name, args, setup) => {
  let server: RedisServerHarness;
  let a: BusNode;
  let b: BusNode;
  let other: Redis;

  beforeAll(async () => {
    server = await RedisServerHarness.start(args);
    if (setup !== undefined) expect(await server.command(setup)).toBe('+OK');
    [a, b] = await Promise.all([startNode(server.url), startNode(server.url)]);
    other = new Redis(server.url, defaultRedisOptions());
    await waitUntilReady(other, 2_000);
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close(), closeRedis(other)]);
    await server.stop();
  });

  it('starts connected in pubsub mode and says what is lost', () => {
    for (const node of [a, b]) {
      expect(node.bus.stats()).toMatchObject({ connected: true, mode: 'pubsub' });
      expect(node.logger.warnings).toEqual([expect.stringContaining('refused CLIENT TRACKING')]);
    }
  });

  it('sends key writes explicitly, since no tracking reports them', async () => {
    await a.connection.set('ns:k', '1');
    void a.bus.publish({ kind: 'keys', keys: ['ns:k'] }, { redisChanged: true });
    await b.receive((i) => hasKey(i, 'ns:k'), 'b receives the write');
    await other.set('ns:outside', '1');
    void b.bus.publish({ kind: 'keys', keys: ['ns:marker'] });
    await a.receive((i) => hasKey(i, 'ns:marker'), 'a receives the marker');
    expect(a.received).toEqual([{ kind: 'keys', keys: ['ns:marker'] }]);
  });
});

describe('InvalidationBus across a network partition (TCP proxy)', () => {
  let server: RedisServerHarness;
  let proxy: TcpProxy;
  let a: BusNode;
  let b: BusNode;
  let other: Redis;

  beforeAll(async () => {
    server = await RedisServerHarness.start();
    proxy = await TcpProxy.start(server.port);
    [a, b] = await Promise.all([startNode(server.url), startNode(proxy.url)]);
    other = new Redis(server.url, defaultRedisOptions());
    await waitUntilReady(other, 2_000);
  });
  afterAll(async () => {
    proxy.heal();
    await Promise.all([a.close(), b.close(), closeRedis(other)]);
    await proxy.close();
    await server.stop();
  });

  it('detects the partition, reports a gap once healed, and carries messages again', async () => {
    proxy.blackhole();
    await waitFor(() => !b.bus.stats().connected, 'b notices the partition (heartbeat)');
    void a.bus.publish({ kind: 'keys', keys: ['ns:during'] });
    await other.set('ns:during-set', '1');
    expect(b.gaps).toEqual([]);
    proxy.heal();
    await waitFor(() => b.gaps.length === 1, 'b reports a gap', 10_000);
    expect(b.gaps).toEqual(['reconnect']);
    expect(b.bus.stats()).toMatchObject({ connected: true, mode: 'tracking', gaps: 1 });
    void a.bus.publish({ kind: 'keys', keys: ['ns:after'] });
    await b.receive((i) => hasKey(i, 'ns:after'), 'b receives a message after heal');
    await other.set('ns:after-set', '1');
    await b.receive((i) => hasKey(i, 'ns:after-set'), 'b sees a write after heal (tracking)');
    expect(a.gaps).toEqual([]);
  });
});
