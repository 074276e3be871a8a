import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { defaultRedisOptions, waitUntilReady } from '../src/backends/redis-connection.js';
import { closeRedis, hasKey, startNode, type BusNode } from './bus-test-node.js';
import { RedisServerHarness } from './redis-server.harness.js';
import { waitFor } from './wait-for.js';

/** Runs `redis-cli` against the server and resolves to its output. */
function redisCli(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', () => resolve(out.trim()));
  });
}

describe('InvalidationBus on one redis-server (tracking mode)', () => {
  let server: RedisServerHarness;
  let a: BusNode;
  let b: BusNode;
  let other: Redis;

  beforeAll(async () => {
    server = await RedisServerHarness.start();
  });
  afterAll(() => server.stop());

  beforeEach(async () => {
    [a, b] = await Promise.all([startNode(server.url), startNode(server.url)]);
    other = new Redis(server.url, defaultRedisOptions());
    await waitUntilReady(other, 2_000);
  });
  afterEach(async () => {
    await Promise.all([a.close(), b.close(), closeRedis(other)]);
  });

  it('starts connected, in tracking mode, with tracking redirected to its subscriber', async () => {
    for (const node of [a, b])
      expect(node.bus.stats()).toMatchObject({ connected: true, mode: 'tracking', gaps: 0 });
    const info = (await a.connection.call('CLIENT', 'TRACKINGINFO')) as unknown[];
    expect(info).toEqual(expect.arrayContaining(['prefixes', ['ns:']]));
    expect((info[1] as string[]).sort()).toEqual(['bcast', 'noloop', 'on']);
  });

  it('delivers every kind of message to the other instance and never back to its sender', async () => {
    void a.bus.publish({ kind: 'keys', keys: ['ns:k1'] });
    void a.bus.publish({ kind: 'pattern', glob: 'ns:user:*' });
    void a.bus.publish({ kind: 'tags', tags: ['ns:t1', 'ns:t2'] });
    void a.bus.publish({ kind: 'clear', prefix: 'ns:posts:' });
    await waitFor(() => b.received.length === 4, 'b receives four messages');
    expect(b.received).toEqual(
      expect.arrayContaining([
        { kind: 'keys', keys: ['ns:k1'] },
        { kind: 'pattern', glob: 'ns:user:*' },
        { kind: 'tags', tags: ['ns:t1', 'ns:t2'] },
        { kind: 'clear', prefix: 'ns:posts:' },
      ]),
    );
    // Messages reach a subscriber in publish order: once b's marker is in, a's own were seen too.
    void b.bus.publish({ kind: 'keys', keys: ['ns:marker'] });
    await a.receive((i) => hasKey(i, 'ns:marker'), 'a receives the marker');
    expect(a.received).toEqual([{ kind: 'keys', keys: ['ns:marker'] }]);
    expect(a.bus.stats()).toMatchObject({ sent: 4, received: 1, publishFailures: 0, queued: 0 });
  });

  it('merges the invalidations of one tick into one message', async () => {
    void a.bus.publish({ kind: 'keys', keys: ['ns:1'] });
    void a.bus.publish({ kind: 'keys', keys: ['ns:2', 'ns:1'] });
    void a.bus.publish({ kind: 'keys', keys: ['ns:3'] });
    await waitFor(() => b.received.length === 1, 'b receives one message');
    expect(b.received).toEqual([{ kind: 'keys', keys: ['ns:1', 'ns:2', 'ns:3'] }]);
    expect(a.bus.stats().sent).toBe(1);
  });

  it('ignores messages of another namespace on the same channel', async () => {
    const c = await startNode(server.url, { namespace: 'other', channel: 'ntc:bus:ns' });
    const d = await startNode(server.url, { namespace: 'other', channel: 'ntc:bus:ns' });
    try {
      void a.bus.publish({ kind: 'keys', keys: ['ns:k'] });
      await b.receive((i) => hasKey(i, 'ns:k'), 'b receives ns:k');
      void d.bus.publish({ kind: 'keys', keys: ['other:marker'] });
      await c.receive((i) => hasKey(i, 'other:marker'), 'c receives the marker');
      expect(c.received).toEqual([{ kind: 'keys', keys: ['other:marker'] }]);
      expect(b.received).toEqual([{ kind: 'keys', keys: ['ns:k'] }]);
    } finally {
      await Promise.all([c.close(), d.close()]);
    }
  });

  it('reports a SET or DEL made by any other client under the prefix within milliseconds', async () => {
    await other.set('ns:outside-write', '1');
    const started = performance.now();
    await b.receive((i) => hasKey(i, 'ns:outside-write'), 'b sees the SET');
    expect(performance.now() - started).toBeLessThan(1000);
    await a.receive((i) => hasKey(i, 'ns:outside-write'), 'a sees the SET');
    expect(await redisCli(server.port, 'DEL', 'ns:outside-write')).toBe('1');
    await waitFor(
      () => b.received.filter((i) => hasKey(i, 'ns:outside-write')).length === 2,
      'b sees the DEL from redis-cli',
    );
    await other.set('elsewhere:k', '1');
    await other.set('ns:marker', '1');
    await b.receive((i) => hasKey(i, 'ns:marker'), 'b sees the marker');
    expect(b.received.some((i) => hasKey(i, 'elsewhere:k'))).toBe(false);
  });

  it("does not echo an instance's own writes (NOLOOP) and sends nothing the tracking covers", async () => {
    await a.connection.set('ns:own', '1');
    void a.bus.publish({ kind: 'keys', keys: ['ns:own'] }, { redisChanged: true });
    await b.receive((i) => hasKey(i, 'ns:own'), 'b sees a write');
    await other.set('ns:marker', '1');
    await a.receive((i) => hasKey(i, 'ns:marker'), 'a sees the marker');
    await b.receive((i) => hasKey(i, 'ns:marker'), 'b sees the marker');
    expect(a.received.some((i) => hasKey(i, 'ns:own'))).toBe(false);
    expect(b.received.filter((i) => hasKey(i, 'ns:own'))).toHaveLength(1);
    expect(a.bus.stats().sent).toBe(0);
  });

  it("tracks keys under the connection's ioredis keyPrefix and reports them without it", async () => {
    const c = await startNode(server.url, {}, { keyPrefix: 'app:' });
    try {
      await c.connection.set('ns:prefixed', '1'); // stored as app:ns:prefixed
      await other.set('app:ns:prefixed', '2');
      await c.receive((i) => hasKey(i, 'ns:prefixed'), 'c sees the write');
      expect(c.received).toEqual([{ kind: 'keys', keys: ['ns:prefixed'] }]);
    } finally {
      await c.close();
    }
  });

  it('reports a FLUSHALL as a gap', async () => {
    await other.flushall();
    await waitFor(() => a.gaps.length === 1 && b.gaps.length === 1, 'both report a gap');
    expect(a.gaps).toEqual(['flush']);
    expect(b.bus.stats().gaps).toBe(1);
  });

  it('after kill -9 and a restart of Redis reports a gap and tracks again', async () => {
    await server.kill();
    await waitFor(() => !a.bus.stats().connected && !b.bus.stats().connected, 'both see it');
    await server.restart();
    await waitFor(() => a.gaps.length > 0 && b.gaps.length > 0, 'both report a gap', 10_000);
    expect(new Set([...a.gaps, ...b.gaps])).toEqual(new Set(['reconnect']));
    expect(b.bus.stats()).toMatchObject({ connected: true, mode: 'tracking' });
    await other.set('ns:after-restart', '1');
    await b.receive((i) => hasKey(i, 'ns:after-restart'), 'b sees a write after the restart');
    void a.bus.publish({ kind: 'pattern', glob: 'ns:*' });
    await b.receive((i) => i.kind === 'pattern', 'b receives a message after the restart');
  });
});
