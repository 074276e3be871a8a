import type { Cluster, Redis } from 'ioredis';
import { withDeadline } from '../core/deadline.js';

/**
 * Opens the bus subscriber of a Redis Cluster: a plain connection to one node, since a message
 * PUBLISHed on any node of a cluster reaches the subscribers of every node (replicas included).
 * Nodes are taken in turn among those the cluster client is connected to, so that the next
 * subscriber goes elsewhere after its node died or froze. The connection does not reconnect by
 * itself (its node may be gone for good): the subscription replaces it, and counts the gap.
 */
export function clusterSubscriberOpener(cluster: Cluster): () => Redis | undefined {
  let turn = 0;
  return () => {
    const all = cluster.nodes('all');
    const ready = all.filter((node) => node.status === 'ready');
    const candidates = ready.length > 0 ? ready : all;
    if (candidates.length === 0) return undefined;
    const node = candidates[turn++ % candidates.length]!;
    return node.duplicate({
      protocol: 2,
      readOnly: false,
      autoResubscribe: false, // subscribed by hand once ready
      autoResendUnfulfilledCommands: false,
      enableOfflineQueue: false,
      enableAutoPipelining: false,
      lazyConnect: true,
      retryStrategy: () => null,
    });
  };
}

/**
 * Publishes on a Redis Cluster through one master at a time (any node would do: the cluster
 * relays the message to every node), keeping to the one that last worked. A plain cluster
 * PUBLISH goes to a random master each time, so with one master frozen a third of them would
 * wait out their deadline (`timeoutMs`); here only the first one does, and the next goes to
 * another master.
 */
export function clusterPublisher(
  cluster: Cluster,
  timeoutMs: number,
): (channel: string, payload: Buffer) => Promise<unknown> {
  let current: Redis | undefined;
  return async (channel, payload) => {
    const masters = cluster.nodes('master').filter((node) => node.status === 'ready');
    if (current === undefined || !masters.includes(current))
      current = masters[Math.floor(Math.random() * masters.length)];
    const node = current;
    if (node === undefined) throw new Error('no Redis Cluster master is connected');
    try {
      return await withDeadline(node.publish(channel, payload), timeoutMs, 'bus PUBLISH');
    } catch (err) {
      // Next time another master (this one may be dead or frozen).
      if (current === node) current = masters[(masters.indexOf(node) + 1) % masters.length];
      throw err;
    }
  };
}
