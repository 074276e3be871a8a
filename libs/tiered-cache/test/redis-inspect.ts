import type { Cluster, Redis } from 'ioredis';

/** Every key of a Redis server (SCAN, every master of a cluster), sorted. */
export async function allKeys(client: Redis | Cluster): Promise<string[]> {
  const nodes: Redis[] = 'nodes' in client ? client.nodes('master') : [client];
  const keys = new Set<string>();
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'COUNT', 1000);
      cursor = next;
      for (const key of batch) keys.add(key);
    } while (cursor !== '0');
  }
  return [...keys].sort();
}

/** One set of tagged keys as stored, whatever its Redis type (a set or a sorted set). */
export interface StoredTagSet {
  readonly key: string;
  readonly members: number;
  /** Milliseconds it has left (PTTL). */
  readonly pttl: number;
}

/**
 * The sets and sorted sets of a server (the cache's tag sets: the only collections it writes),
 * found by type so that the test does not depend on how they are named.
 */
export async function tagSets(client: Redis | Cluster): Promise<StoredTagSet[]> {
  const found: StoredTagSet[] = [];
  for (const key of await allKeys(client)) {
    const type = await client.type(key);
    if (type !== 'set' && type !== 'zset') continue;
    const members = type === 'set' ? await client.scard(key) : await client.zcard(key);
    found.push({ key, members, pttl: await client.pttl(key) });
  }
  return found;
}

/**
 * The one tag set of `tag` (a namespaced tag): the set whose name holds the tag, not followed by
 * more of a tag's characters (throws when there is not exactly one).
 */
export async function tagSet(client: Redis | Cluster, tag: string): Promise<StoredTagSet> {
  const sets = (await tagSets(client)).filter((set) => {
    const at = set.key.indexOf(tag);
    const next = set.key[at + tag.length];
    return at >= 0 && (next === undefined || next === '{');
  });
  if (sets.length !== 1)
    throw new Error(`expected one tag set for ${tag}, found ${sets.map((s) => s.key).join(', ')}`);
  return sets[0]!;
}
