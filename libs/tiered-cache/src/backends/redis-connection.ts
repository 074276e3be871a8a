import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { withDeadline } from '../core/deadline.js';
import { currentMasters, onEveryNode } from './redis-cluster.js';
import type { RedisTarget } from './redis-options.js';

/**
 * How often a cluster connection the cache opens re-reads the slot map (CLUSTER SLOTS), in ms.
 * ioredis refreshes it on MOVED replies only; after a master dies with no traffic in flight, or
 * with commands failing on the closed connection rather than redirected, it would keep sending to
 * the dead node. One small CLUSTER SLOTS a second learns a promoted replica within a second.
 */
export const CLUSTER_SLOTS_REFRESH_MS = 1_000;

/** A connected (or connecting) ioredis client and whether the cache owns it. */
export interface RedisConnection {
  readonly client: Redis | Cluster;
  /** False for a user-supplied `client`: the cache never closes what it did not open. */
  readonly owned: boolean;
}

/**
 * Safe defaults for connections the cache opens: fail fast instead of queueing while disconnected
 * (no offline queue), auto-pipelining for throughput, and reconnection with a capped backoff
 * forever (the circuit breaker above decides when to try).
 *
 * A command is never sent again later: the tier gives up on a call at its deadline and goes on
 * (it deletes the key behind a failed write), so a write that ioredis re-sent after a reconnection
 * would land after newer ones and bring an old value back. ioredis re-sends the commands left
 * unanswered when a connection closes (`autoResendUnfulfilledCommands`) and keeps them for a
 * retry (`maxRetriesPerRequest`); here they are failed when the connection closes, and commands
 * made while disconnected fail at once (`enableOfflineQueue: false`).
 * No ioredis `commandTimeout`: the tier already puts every call under its deadline, and a bulk
 * operation puts each of its commands under it (see {@link scanKeys}); a timer per command on
 * top of that cost a fifth of the throughput of Redis hits.
 */
export function defaultRedisOptions(): RedisOptions {
  return {
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    enableAutoPipelining: true,
    // A PING is sent alone, at once: the bus's fence (see InvalidationBus) waits on one after each
    // batch of answers, and an auto-pipelined one would wait for the end of the tick.
    autoPipeliningIgnoredCommands: ['ping'],
    connectTimeout: 2_000,
    // How long a closing socket may linger before it is destroyed (ioredis keeps a timer that long).
    disconnectTimeout: 200,
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 6), 2_000),
    lazyConnect: false,
  };
}

/** Opens (or adopts) the ioredis client described by a tier's options. */
export function openRedisConnection(options: RedisTarget): RedisConnection {
  // The option types describe ioredis by shape (it is an optional peer); here they are ioredis's.
  if (options.client !== undefined)
    return { client: options.client as Redis | Cluster, owned: false };
  const base: RedisOptions = {
    ...defaultRedisOptions(),
    ...(options.redisOptions as RedisOptions | undefined),
  };
  if (options.cluster !== undefined) {
    const clusterOptions = options.cluster.options as ClusterOptions | undefined;
    const client = new Cluster(options.cluster.nodes, {
      enableOfflineQueue: false,
      // A command that failed on a closed node connection, or on CLUSTERDOWN, is not sent again later.
      retryDelayOnFailover: 0,
      retryDelayOnClusterDown: 0,
      enableAutoPipelining: true,
      slotsRefreshInterval: CLUSTER_SLOTS_REFRESH_MS,
      clusterRetryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 6), 2_000),
      ...clusterOptions,
      redisOptions: { ...base, ...clusterOptions?.redisOptions },
    });
    return { client, owned: true };
  }
  if (options.sentinel !== undefined) {
    const client = new Redis({
      ...sentinelDefaults(),
      ...base,
      sentinels: options.sentinel.sentinels,
      name: options.sentinel.name,
    });
    return { client, owned: true };
  }
  return { client: new Redis(options.url!, base), owned: true };
}

/**
 * Defaults of a connection through Sentinel (under the `redisOptions` given). A failover ends with
 * the sentinels announcing the new master (`+switch-master`); the old one, if it is still up (a
 * `SENTINEL FAILOVER`, a partition), stays a writable master until the sentinels demote it 10 to
 * 20 s later, and then answers every write with READONLY. `failoverDetector` makes ioredis listen
 * to the sentinels and reconnect to the new master at once; `reconnectOnError` reconnects (through
 * the sentinels) on a READONLY reply, without sending the failed command again.
 */
function sentinelDefaults(): RedisOptions {
  return {
    failoverDetector: true,
    reconnectOnError: (err: Error) => err.message.startsWith('READONLY'),
  };
}

/**
 * The options a client would need changed so that it never sends a command after the cache gave
 * up on it (see {@link defaultRedisOptions}), as `option: value` to set; empty when it is safe.
 * ioredis's own defaults are the unsafe ones.
 */
export function resendingOptions(client: Redis | Cluster): string[] {
  const fixes: string[] = [];
  if (client instanceof Cluster) {
    const options = client.options;
    if (options.enableOfflineQueue !== false) fixes.push('enableOfflineQueue: false');
    if (options.retryDelayOnFailover !== 0) fixes.push('retryDelayOnFailover: 0');
    if (options.retryDelayOnClusterDown !== 0) fixes.push('retryDelayOnClusterDown: 0');
    return fixes;
  }
  const options = client.options;
  if (options.enableOfflineQueue !== false) fixes.push('enableOfflineQueue: false');
  if (options.autoResendUnfulfilledCommands !== false && options.maxRetriesPerRequest !== 0)
    fixes.push('autoResendUnfulfilledCommands: false');
  return fixes;
}

/**
 * Resolves once the client is ready, or after `timeoutMs` (never rejects: the cache fails open).
 * A Cluster is ready once it knows its slot map, but ioredis opens its connections to the nodes
 * lazily, on their first command, and with `enableOfflineQueue: false` it fails ("Connection is
 * closed.") every other command sent to a node while that node's connection is being opened. So
 * the masters' connections are opened here too, within the same `timeoutMs` (and those of masters
 * that appear later at once: see {@link openNewMasters}).
 */
export async function waitUntilReady(client: Redis | Cluster, timeoutMs: number): Promise<boolean> {
  const started = performance.now();
  if (!(await untilReady(client, timeoutMs))) return false;
  if (!(client instanceof Cluster)) return true;
  const left = Math.max(1, timeoutMs - (performance.now() - started));
  await Promise.all(client.nodes('master').map((node) => untilReady(openNode(node), left)));
  return true;
}

/**
 * Opens the connection of every master node a Cluster client adds (a failover, a new slot map)
 * as soon as it is added, not on its first command (see {@link waitUntilReady}). Returns the
 * function that stops it.
 */
export function openNewMasters(cluster: Cluster): () => void {
  const added = (node: Redis) => {
    if (node.options.readOnly !== true) openNode(node);
  };
  cluster.on('+node', added);
  return () => cluster.off('+node', added);
}

/** Starts connecting a lazily connected node that has not started yet. */
function openNode(node: Redis): Redis {
  if (node.status === 'wait') node.connect().catch(() => undefined);
  return node;
}

function untilReady(client: Redis | Cluster, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ready);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    timer.unref();
    client.on('ready', onReady);
  });
}

/**
 * The Redis error code of an authentication failure (`WRONGPASS`: wrong password or ACL user;
 * `NOAUTH`: a password is required and none was given; `ERR invalid password` from Redis before
 * 6), or `undefined` for any other error. Only the code is kept: ioredis's error carries the
 * failed command, credentials included, so it must never be logged as it is.
 */
export function authenticationFailure(err: unknown): string | undefined {
  const message = (err as { message?: unknown } | null | undefined)?.message;
  if (typeof message !== 'string') return undefined;
  const code = /^(WRONGPASS|NOAUTH)\b/.exec(message)?.[1];
  if (code !== undefined) return code;
  return /^ERR invalid password\b/i.test(message) ? 'ERR invalid password' : undefined;
}

/**
 * Watches a client for authentication failures and reports the first one with `report(code)`,
 * not each retry's, until the client is ready again (then a new failure, a rotated password,
 * is reported once more). `failing` says whether the latest attempt failed to authenticate.
 */
export function watchAuthentication(
  client: Redis | Cluster,
  report: (code: string) => void,
): { readonly failing: boolean } {
  const state = { failing: false };
  client.on('error', (err: unknown) => {
    const code = authenticationFailure(err);
    if (code === undefined || state.failing) return;
    state.failing = true;
    report(code);
  });
  client.on('ready', () => {
    state.failing = false;
  });
  return state;
}

/**
 * Calls `onBatch` with every batch of keys matching `match`, using SCAN (never KEYS) on a single
 * node, or on every master of a cluster's current slot map (see {@link currentMasters}). On a
 * cluster, a master that fails does not stop the walk over the others; the call then rejects,
 * naming it, so that the caller records the operation for replay rather than skipping its keys.
 * SCAN may report a key twice; callers must tolerate it. Each SCAN runs under `stepTimeoutMs` (a
 * walk over millions of keys takes as many steps as it needs).
 */
export async function scanKeys(
  client: Redis | Cluster,
  match: string,
  onBatch: (keys: string[]) => Promise<void>,
  stepTimeoutMs: number,
  count = 1000,
): Promise<void> {
  const scanNode = async (node: Redis) => {
    let cursor = '0';
    do {
      const [next, keys] = await withDeadline(
        node.scan(cursor, 'MATCH', match, 'COUNT', count),
        stepTimeoutMs,
        'Redis SCAN',
      );
      cursor = next;
      if (keys.length > 0) await onBatch(keys);
    } while (cursor !== '0');
  };
  if (!(client instanceof Cluster)) return scanNode(client);
  await onEveryNode(await currentMasters(client, stepTimeoutMs), scanNode);
}
