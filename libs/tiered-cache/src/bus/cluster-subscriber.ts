import type { Cluster, Redis } from 'ioredis';

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
