import type { Cluster, Redis } from 'ioredis';
import { withDeadline } from '../core/deadline.js';

/** How many hash slots a Redis Cluster has. */
export const CLUSTER_SLOTS = 16384;

/** CRC16-CCITT (XMODEM) table, the checksum Redis Cluster hashes keys with. */
const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    table[i] = crc & 0xffff;
  }
  return table;
})();

function crc16(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++)
    crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!;
  return crc;
}

/**
 * The hash slot of a key as Redis Cluster computes it (CLUSTER KEYSLOT): CRC16 of the key's bytes,
 * or of its hash tag (the part between the first `{` and the next `}`, when not empty), mod 16384.
 */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key, 'utf8');
  const open = bytes.indexOf(0x7b); // {
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1); // }
    if (close > open + 1) return crc16(bytes, open + 1, close) & (CLUSTER_SLOTS - 1);
  }
  return crc16(bytes, 0, bytes.length) & (CLUSTER_SLOTS - 1);
}

/**
 * Groups keys by hash slot, so that each group can go in one multi-key command (a cluster refuses
 * a command whose keys span slots). `keyPrefix` is the client's ioredis `keyPrefix`, which is part
 * of every key as Redis hashes it; `redisKey` gives the Redis key of each key (default: itself),
 * and the groups hold the keys as given.
 */
export function groupBySlot(
  keys: readonly string[],
  keyPrefix = '',
  redisKey: (key: string) => string = (key) => key,
): string[][] {
  const groups = new Map<number, string[]>();
  for (const key of keys) {
    const slot = keySlot(keyPrefix + redisKey(key));
    const group = groups.get(slot);
    if (group === undefined) groups.set(slot, [key]);
    else group.push(key);
  }
  return [...groups.values()];
}

/** The ioredis `keyPrefix` of a client (part of every key in Redis). */
export function keyPrefixOf(client: Redis | Cluster): string {
  return (client.options as { keyPrefix?: string }).keyPrefix ?? '';
}

/**
 * The master serving `key`'s slot in the client's current slot map (`host:port`), or undefined
 * before the map is known. Cheap: one CRC16 and an array lookup.
 */
export function masterOfKey(cluster: Cluster, key: string): string | undefined {
  return cluster.slots[keySlot(keyPrefixOf(cluster) + key)]?.[0];
}

/**
 * The masters of the client's slot map, as one string (`<first slot>=<master>` per range): equal
 * strings, same map. 16,384 array reads; called once per slot map refresh.
 */
export function slotMasters(cluster: Cluster): string {
  const parts: string[] = [];
  let previous: string | undefined;
  for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
    const master = cluster.slots[slot]?.[0] ?? '-';
    if (master !== previous) parts.push(`${slot}=${master}`);
    previous = master;
  }
  return parts.join(',');
}

/** A node's address as the slot map names it (`host:port`); a duplicate connection has the same. */
export function nodeKey(node: Redis): string {
  return `${node.options.host}:${node.options.port}`;
}

/**
 * The client's connection to the master serving `slot` in its current slot map, or undefined when
 * the map names none or the client has no connection to it.
 */
export function masterOfSlot(cluster: Cluster, slot: number): Redis | undefined {
  const address = cluster.slots[slot]?.[0];
  if (address === undefined) return undefined;
  return cluster.nodes('master').find((node) => nodeKey(node) === address);
}

/** Refreshes the client's slot map (CLUSTER SLOTS), under a deadline. */
export function refreshSlots(cluster: Cluster, timeoutMs: number): Promise<void> {
  const refreshed = new Promise<void>((resolve, reject) =>
    cluster.refreshSlotsCache((err) => (err ? reject(err) : resolve())),
  );
  return withDeadline(refreshed, timeoutMs, 'Redis CLUSTER SLOTS');
}

/**
 * The masters of the client's slot map as it is (`host:port`, each with its connection, undefined
 * when the client has none), and how many slots no master serves. 16,384 array reads.
 */
export function slotMapMasters(cluster: Cluster): {
  masters: Map<string, Redis | undefined>;
  unserved: number;
} {
  const connections = new Map(cluster.nodes('all').map((node) => [nodeKey(node), node]));
  const masters = new Map<string, Redis | undefined>();
  let unserved = 0;
  for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
    const master = cluster.slots[slot]?.[0];
    if (master === undefined) unserved++;
    else if (!masters.has(master)) masters.set(master, connections.get(master));
  }
  return { masters, unserved };
}

/**
 * The masters of the current slot map, each with its connection: the map is refreshed first (a
 * failover may have promoted a replica since the last refresh), then every slot must be served by
 * a master the client has a connection to. Rejects, naming what is missing, when some slot is not
 * served (the cluster is down for it) or its master has no connection: a walk over "every master"
 * that skipped one would silently miss its keys.
 */
export async function currentMasters(cluster: Cluster, timeoutMs: number): Promise<Redis[]> {
  await refreshSlots(cluster, timeoutMs);
  const { masters, unserved } = slotMapMasters(cluster);
  const missing = [...masters].filter(([, node]) => node === undefined).map(([key]) => key);
  if (unserved > 0 || missing.length > 0) {
    const parts = [
      ...(unserved > 0 ? [`${unserved} slot(s) are served by no master`] : []),
      ...(missing.length > 0 ? [`no connection to master(s) ${missing.join(', ')}`] : []),
    ];
    throw new Error(`Redis Cluster: ${parts.join('; ')}`);
  }
  return [...masters.values()] as Redis[];
}

/**
 * Runs `step` on every node, all of them even when some fail, then rejects if any failed (naming
 * each failed node and why): the nodes that answered are done at once, and the caller records the
 * whole operation for a replay that covers the others.
 */
export async function onEveryNode(
  nodes: readonly Redis[],
  step: (node: Redis) => Promise<void>,
): Promise<void> {
  const failures: string[] = [];
  for (const node of nodes) {
    try {
      await step(node);
    } catch (err) {
      failures.push(`${nodeKey(node)}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (failures.length > 0)
    throw new Error(
      `failed on ${failures.length} of ${nodes.length} Redis Cluster master(s) (${failures.join('; ')})`,
    );
}
