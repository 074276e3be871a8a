import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Cluster } from 'ioredis';
import { keySlot } from '../../src/backends/redis-cluster.js';
import { openRedisConnection, waitUntilReady } from '../../src/backends/redis-connection.js';
import type { BusInvalidation } from '../../src/bus/bus-message.js';
import { InvalidationBus, type BusGapReason } from '../../src/bus/invalidation-bus.js';
import { RecordingLogger } from '../bus-test-node.js';
import { RedisClusterHarness } from '../redis-cluster.harness.js';
import { respCommand } from '../resp-command.js';
import { waitFor } from '../wait-for.js';

/** One instance: its Cluster connection, its bus, and what the bus told it. */
interface ClusterBusNode {
  readonly bus: InvalidationBus;
  readonly connection: Cluster;
  readonly received: BusInvalidation[];
  readonly gaps: BusGapReason[];
}

/**
 * The invalidation bus on a real Redis Cluster (3 masters, 3 replicas): every instance subscribes
 * and publishes on the bus's home, the master of the channel's hash slot, so that a change
 * resolves only once the home has written its message to every other instance's subscriber, as on
 * a single node; after the home fails over, the subscribers move to the new home without a gap;
 * when the home freezes, they are on another node after two heartbeats at most, and when it dies,
 * at once.
 */
describe('InvalidationBus on a Redis Cluster', () => {
  let cluster: RedisClusterHarness;
  const opened: ClusterBusNode[] = [];

  beforeAll(async () => {
    cluster = await RedisClusterHarness.start();
  });
  afterAll(async () => {
    try {
      for (const { bus, connection } of opened) {
        await bus.close();
        connection.disconnect();
      }
    } finally {
      await cluster?.stop();
    }
  });

  async function node(heartbeatMs = 300): Promise<ClusterBusNode> {
    const { client } = openRedisConnection({ cluster: { nodes: cluster.startupNodes } });
    const connection = client as Cluster;
    connection.on('error', () => undefined);
    expect(await waitUntilReady(connection, 5_000)).toBe(true);
    const bus = new InvalidationBus({
      connection,
      namespace: 'ns',
      heartbeatMs,
      publishTimeoutMs: 1_000,
      logger: new RecordingLogger(),
    });
    const received: BusInvalidation[] = [];
    const gaps: BusGapReason[] = [];
    bus.onRemoteInvalidation((invalidation) => received.push(invalidation));
    bus.onGap((reason) => gaps.push(reason));
    await bus.start();
    const started = { bus, connection, received, gaps };
    opened.push(started);
    return started;
  }

  /** Subscribers of `channel` on each running node that has any (PUBSUB NUMSUB is per node). */
  async function subscribers(channel: string): Promise<Record<number, number>> {
    const counts: Record<number, number> = {};
    for (const server of cluster.nodes.filter((n) => n.running)) {
      const reply = (await respCommand(server.port, ['PUBSUB', 'NUMSUB', channel])) as [
        string,
        number,
      ];
      if (reply[1] > 0) counts[server.port] = reply[1];
    }
    return counts;
  }

  /**
   * `rounds` publishes by `from`, each followed at once (no wait) by a look at what the others
   * received: the publish resolves only after its message reached their subscribers.
   */
  async function publishAndLook(from: ClusterBusNode, others: ClusterBusNode[], rounds: number) {
    let late = 0;
    for (let i = 0; i < rounds; i++) {
      const key = `ns:k${i}:${Math.random()}`;
      await from.bus.publish({ kind: 'tags', tags: [key] });
      for (const other of others) {
        const last = other.received.at(-1);
        if (last?.kind !== 'tags' || last.tags[0] !== key) late++;
      }
    }
    return late;
  }

  /** Waits until the home of `channel` holds every subscriber opened so far; resolves to its port. */
  async function everySubscriberOnTheHome(channel: string): Promise<number> {
    const home = await cluster.masterPortForKey(channel);
    await waitFor(
      async () => (await subscribers(channel))[home] === opened.length,
      'every subscriber on the home',
      15_000,
      25,
    );
    return home;
  }

  /** `from` publishes a fresh change; resolves once every one of `others` received it. */
  async function reaches(from: ClusterBusNode, others: ClusterBusNode[], what: string) {
    const key = `ns:reach:${Math.random()}`;
    await from.bus.publish({ kind: 'tags', tags: [key] });
    await waitFor(
      () => others.every((n) => n.received.some((r) => r.kind === 'tags' && r.tags[0] === key)),
      `the others received a change published ${what}`,
      2_000,
      10,
    );
  }

  it('meets on the home master: every subscriber there, and a change resolves after the others got it', async () => {
    const [a, b, c] = [await node(), await node(), await node()];
    const home = await cluster.masterPortForKey(a.bus.channel);
    // The home is the master of the channel's slot as Redis hashes it.
    expect(Number(await respCommand(home, ['CLUSTER', 'KEYSLOT', a.bus.channel]))).toBe(
      keySlot(a.bus.channel),
    );
    expect(await subscribers(a.bus.channel)).toEqual({ [home]: 3 });
    expect(await publishAndLook(a, [b, c], 200)).toBe(0);
    expect(await publishAndLook(c, [a, b], 200)).toBe(0);
    expect([a, b, c].map((n) => n.gaps)).toEqual([[], [], []]);
  });

  it('after the home fails over, the subscribers move to the new home without a gap', async () => {
    const [a, b] = [opened[0]!, opened[1]!];
    const channel = a.bus.channel;
    const oldHome = await cluster.masterPortForKey(channel);
    const view = await cluster.view();
    const homeId = view.find((n) => n.port === oldHome)!.id;
    const replica = view.find((n) => n.role === 'replica' && n.masterId === homeId && !n.failing);
    expect(replica).toBeDefined();
    // A graceful failover: the old home stays up, as a replica (a subscriber there still gets
    // every message over the cluster's bus, but no fence proves it: it must move).
    await respCommand(replica!.port, ['CLUSTER', 'FAILOVER']);
    await waitFor(
      async () => (await cluster.masterPortForKey(channel)) === replica!.port,
      'the replica took over the home slot',
      15_000,
      25,
    );
    await waitFor(
      async () =>
        JSON.stringify(await subscribers(channel)) === JSON.stringify({ [replica!.port]: 3 }),
      'every subscriber moved to the new home',
      15_000,
      50,
    );
    expect(opened.map((n) => n.gaps)).toEqual([[], [], []]);
    expect(opened.map((n) => n.bus.stats().connected)).toEqual([true, true, true]);
    // Once a's slot map shows the new home, it publishes there, and the fence holds again.
    await waitFor(
      async () => {
        a.connection.refreshSlotsCache();
        return (await publishAndLook(a, [b], 1)) === 0;
      },
      'a publishes on the new home',
      15_000,
      50,
    );
    expect(await publishAndLook(a, [b], 200)).toBe(0);
  });

  it('when the home freezes, every instance hears the others again within two heartbeats, from another node', async () => {
    const fresh = [await node(300), await node(300), await node(300)];
    const [a, b, c] = fresh as [ClusterBusNode, ClusterBusNode, ClusterBusNode];
    const channel = a.bus.channel;
    const home = await everySubscriberOnTheHome(channel);
    const frozenAt = performance.now();
    await cluster.pause(home);
    const heardAgain = new Map<ClusterBusNode, number>();
    try {
      // A frozen node keeps its connections open (the kernel even accepts new ones): only the
      // heartbeat's PING, unanswered within its deadline, shows it. The replacement must not go
      // back there (the client still shows it ready), or the instance stays deaf until the
      // cluster fails the node over.
      await waitFor(
        () => {
          for (const n of fresh)
            if (!heardAgain.has(n) && n.gaps.length === 1 && n.bus.stats().connected)
              heardAgain.set(n, performance.now() - frozenAt);
          return heardAgain.size === fresh.length;
        },
        'every instance subscribed again elsewhere, one gap each',
        1_500,
        5,
      );
      await reaches(a, [b, c], 'during the freeze');
    } finally {
      // Frozen until a replica took over (it comes back as that replica's replica), so that the
      // next test starts from a settled cluster, every subscriber on the new home.
      await cluster.waitForFailover(home).finally(() => cluster.node(home).resume());
    }
    const newHome = await cluster.masterPortForKey(channel);
    await waitFor(
      async () =>
        JSON.stringify(await subscribers(channel)) === JSON.stringify({ [newHome]: opened.length }),
      'every subscriber on the new home',
      15_000,
      50,
    );
    console.log(
      `bus deaf after the home froze (ms, per instance): ${[...heardAgain.values()].map(Math.round).join(', ')}`,
    );
    // Two heartbeats at most: the PING that got no answer was sent at most one interval after the freeze.
    for (const deaf of heardAgain.values()) expect(deaf).toBeLessThan(2 * 300 + 150);
  });

  it('when the home is killed, every subscriber is replaced on another node at once, not at the next heartbeat', async () => {
    // Heartbeats 10 s apart: a subscriber replaced on the heartbeat would leave its instance
    // deaf to the others' changes for seconds (its L1 serving what they deleted meanwhile).
    const fresh = [await node(10_000), await node(10_000), await node(10_000)];
    const home = await everySubscriberOnTheHome(fresh[0]!.bus.channel);
    await cluster.kill(home);
    // The client may still show the dead node as ready when the subscriber's end is read: the
    // replacement must not go there again, and must not wait for the heartbeat.
    await waitFor(
      async () => fresh.every((n) => n.bus.stats().connected && n.gaps.length === 1),
      'every instance subscribed again, one gap each',
      2_000,
      10,
    );
    // And a change made now reaches the others (over the cluster's bus, the home being away).
    const [a, b, c] = fresh as [ClusterBusNode, ClusterBusNode, ClusterBusNode];
    await reaches(a, [b, c], 'after the kill');
  });
});
