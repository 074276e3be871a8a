import type { Cluster, Redis } from 'ioredis';
import { keySlot, masterOfSlot, nodeKey } from '../backends/redis-cluster.js';
import { withDeadline } from '../core/deadline.js';

/** How long a node whose PUBLISH failed, or whose subscriber ended, is passed over, in ms. */
const FAILED_NODE_AVOIDED_MS = 5_000;

/**
 * Where the bus meets on a Redis Cluster: its **home**, the master serving the channel's hash
 * slot in the client's current slot map. Every instance subscribes there and publishes there, so
 * that a message reaches every subscriber from the node that took it, as on a single node: the
 * home writes it to its own subscribers before it reads the next command, and a PING to it after
 * the PUBLISH answered proves it (see `InvalidationBus.fence`). A message published on any node
 * still reaches every node's subscribers (over the cluster's own bus), which is what carries the
 * bus while the home is down or an instance's slot map is behind: then without that proof.
 */
export class ClusterBusHome {
  /** The node the last PUBLISH was accepted by: the one a fence must ask. */
  lastPublishedOn: Redis | undefined;
  /** Where the publisher goes while the home is passed over (the last one that worked). */
  private fallback: Redis | undefined;
  /**
   * Nodes (host:port) passed over by the publisher and the subscribers until a performance.now():
   * a PUBLISH on them failed (a frozen master would otherwise hold every message up for its
   * deadline), or a subscriber on them ended (a node just killed still looks ready to the client).
   */
  private readonly avoided = new Map<string, number>();
  private turn = 0;
  /** The channel's hash slot, whose master is the home (computed once: the channel is fixed). */
  private readonly slot: number;

  constructor(
    private readonly cluster: Cluster,
    channel: string,
    private readonly timeoutMs: number,
  ) {
    this.slot = keySlot(channel);
  }

  /**
   * The home master's connection, when the client has one and it is ready (one the client has not
   * opened yet, a master it learned of since its last command to it, is opened now).
   */
  home(): Redis | undefined {
    const node = masterOfSlot(this.cluster, this.slot);
    if (node?.status === 'wait') node.connect().catch(() => undefined);
    return node?.status === 'ready' ? node : undefined;
  }

  /**
   * Opens the bus subscriber: a plain connection to the home, or while it is not ready, to
   * another node (taken in turn among those the client is connected to, so that the next one goes
   * elsewhere after its node died or froze). The connection does not reconnect by itself (its
   * node may be gone for good): the subscription replaces it, and counts the gap. The node of
   * `ended`, the subscriber this one replaces, is passed over for a while: a node just killed
   * still looks ready to the client until the client reads its own connection's end, and a
   * subscriber sent there again fails, leaving this instance deaf to the others' changes until
   * the next heartbeat (seen: 330–390 ms of L1 copies served after another instance deleted them).
   */
  readonly openSubscriber = (ended?: Redis): Redis | undefined => {
    if (ended !== undefined) this.avoid(ended);
    let node = this.home();
    if (node !== undefined && this.isAvoided(node)) node = undefined;
    if (node === undefined) {
      const all = this.cluster.nodes('all');
      const kept = all.filter((candidate) => !this.isAvoided(candidate));
      const pool = kept.length > 0 ? kept : all; // every node passed over: try them again anyway
      const ready = pool.filter((candidate) => candidate.status === 'ready');
      const candidates = ready.length > 0 ? ready : pool;
      if (candidates.length === 0) return undefined;
      node = candidates[this.turn++ % candidates.length]!;
    }
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

  /**
   * Whether `subscriber` is on another node than the home while the home is ready (after a
   * failover of the home, or when the home was down when it was opened): it should move there.
   */
  readonly awayFromHome = (subscriber: Redis): boolean => {
    const home = this.home();
    if (home === undefined || this.isAvoided(home)) return false; // not back there yet
    return nodeKey(home) !== nodeKey(subscriber);
  };

  /**
   * PUBLISH on the home, or, while the home is not ready or passed over (its PUBLISH failed), on
   * the master that last worked, the next one after each failure.
   */
  readonly publish = async (channel: string, payload: Buffer): Promise<unknown> => {
    const node = this.publisher();
    if (node === undefined) throw new Error('no Redis Cluster master is connected');
    try {
      const answer = await withDeadline(
        node.publish(channel, payload),
        this.timeoutMs,
        'bus PUBLISH',
      );
      this.lastPublishedOn = node;
      return answer;
    } catch (err) {
      const masters = this.readyMasters();
      this.avoid(node);
      if (this.fallback === node || this.fallback === undefined)
        this.fallback = masters[(masters.indexOf(node) + 1) % masters.length];
      throw err;
    }
  };

  private publisher(): Redis | undefined {
    const home = this.home();
    if (home !== undefined && !this.isAvoided(home)) return home;
    const masters = this.readyMasters();
    if (this.fallback === undefined || !masters.includes(this.fallback))
      this.fallback = masters.find((node) => node !== home) ?? masters[0];
    return this.fallback;
  }

  private avoid(node: Redis): void {
    this.avoided.set(nodeKey(node), performance.now() + FAILED_NODE_AVOIDED_MS);
  }

  private isAvoided(node: Redis): boolean {
    if (this.avoided.size === 0) return false; // the publish path, nearly always
    const key = nodeKey(node);
    const until = this.avoided.get(key);
    if (until === undefined) return false;
    if (until > performance.now()) return true;
    this.avoided.delete(key);
    return false;
  }

  private readyMasters(): Redis[] {
    return this.cluster.nodes('master').filter((node) => node.status === 'ready');
  }
}
