import { hash, randomBytes } from 'node:crypto';
import { Cluster, type Redis } from 'ioredis';
import type { Step } from './redis-bulk.js';
import { groupBySlot } from './redis-cluster.js';
import { internalKey, redisKeyOf, TOKEN_LENGTH } from './redis-keys.js';
import { ALL_REGISTERED, TAG_PRUNE, TAG_REGISTER, TAG_UNREGISTER } from './redis-entry-scripts.js';
import { runScript } from './redis-scripts.js';

/** Members removed from one tag set per command. */
const BATCH = 500;

/** A random token of {@link TOKEN_LENGTH} characters naming one computation (or one version). */
export function newToken(): string {
  return randomBytes(8).toString('base64url');
}

/** The SHA-1 of an entry's bytes: its {@link writeToken}, and what a conditional drop compares. */
export function entryDigest(bytes: Uint8Array): Buffer {
  return hash('sha1', bytes, 'buffer');
}

/**
 * The token naming a write of `digest` (an {@link entryDigest}): {@link TOKEN_LENGTH} characters
 * of it. Derived from the bytes written, not random, so that a reader holding the entry knows
 * which registrations it must find (see {@link RedisTagIndex.registered}) without another read.
 */
export function writeToken(digest: Buffer): string {
  return digest.subarray(0, 8).toString('base64url');
}

/**
 * The tag sets of the Redis backends: for each tag, a sorted set of the writes carrying it
 * (`<token><key>`, scored by the write's expiry), and for each tagged entry, its tag list (the
 * token of its write and its tags, next to it in its hash slot).
 *
 * A write registers in its tag sets before its value is written, with the token of its bytes
 * ({@link writeToken}); the entry's tag list records that token. A registration is removed only by
 * whoever removes the write it names: an overwrite or a delete removes the registrations of the
 * tag list it replaced or deleted, so a write still in progress (registered, value not yet
 * written) never loses its own. A registration whose write never landed, or whose removal failed,
 * goes when it expires: every write and read of a tag set drops expired members, and the set
 * expires with its last member.
 *
 * Redis may evict any of these keys under `maxmemory` while the entry survives. A lost tag list
 * only leaves registrations to expire (the entry is still found by its tags); a lost registration
 * would hide the entry from a tag delete, so a read checks them ({@link registered}) and an entry
 * missing any is a miss.
 */
export class RedisTagIndex {
  constructor(
    private readonly client: Redis | Cluster,
    /** The client's ioredis `keyPrefix` (part of every key as Redis hashes it). */
    private readonly keyPrefix: string,
  ) {}

  /** The sorted set of the writes carrying `tag` (a namespaced tag). */
  setKey(tag: string): string {
    return internalKey(redisKeyOf(tag), 'tagged', this.keyPrefix);
  }

  /** The tag list of the entry `key` (a stored key). */
  listKey(key: string): string {
    return internalKey(redisKeyOf(key), 'tags', this.keyPrefix);
  }

  /** The tag list of a write: its token and its tags. */
  list(token: string, tags: readonly string[]): string {
    return JSON.stringify([token, ...tags]);
  }

  /** Whether `list` (a tag list, see {@link list}) names the write `token`. */
  isListOf(list: string, token: string): boolean {
    return parseList(list)[0] === token;
  }

  /**
   * Registers the write `token` of `key` in the sets of its tags, for `ttlMs`; resolves to the
   * expiry (epoch ms, Redis's clock) to give the entry, at or before every registration's.
   */
  async register(
    key: string,
    token: string,
    tags: readonly string[],
    ttlMs: number,
  ): Promise<number> {
    const nows = await Promise.all(
      tags.map((tag) =>
        runScript(this.client, TAG_REGISTER, [this.setKey(tag)], [token + key, ttlMs]),
      ),
    );
    return Math.min(...nows.map(Number)) + ttlMs;
  }

  /**
   * Removes the registrations that tag lists record (of writes that were replaced or deleted, or of
   * a compare-and-set write that did not land). `lists` pairs stored keys with their tag list.
   */
  async forget(lists: ReadonlyArray<readonly [string, string]>, step: Step): Promise<void> {
    const bySet = new Map<string, string[]>();
    for (const [key, list] of lists) {
      const [token, ...tags] = parseList(list);
      if (token === undefined) continue;
      for (const tag of tags) {
        const setKey = this.setKey(tag);
        const members = bySet.get(setKey);
        if (members === undefined) bySet.set(setKey, [token + key]);
        else members.push(token + key);
      }
    }
    const commands: Promise<unknown>[] = [];
    for (const [setKey, members] of bySet)
      for (let i = 0; i < members.length; i += BATCH)
        commands.push(
          runScript(this.client, TAG_UNREGISTER, [setKey], members.slice(i, i + BATCH)),
        );
    await step(Promise.all(commands), 'tag cleanup');
  }

  /**
   * Whether the write `token` of `key` is registered in the set of each of `tags`, in one round
   * trip: a ZSCORE for one tag, {@link ALL_REGISTERED} for several in one hash slot (all of them on
   * a single node); on a cluster, one command per slot, sent together. A registration lives at
   * least as long as the entry it names, so an entry that is there and misses one lost it.
   */
  async registered(key: string, token: string, tags: readonly string[]): Promise<boolean> {
    const member = token + key;
    const client = this.client;
    if (tags.length === 1) return (await client.zscore(this.setKey(tags[0]!), member)) !== null;
    const setKeys = tags.map((tag) => this.setKey(tag));
    const groups = client instanceof Cluster ? groupBySlot(setKeys, this.keyPrefix) : [setKeys];
    const found = await Promise.all(
      groups.map(async (group) =>
        group.length === 1
          ? (await client.zscore(group[0]!, member)) !== null
          : Number(await runScript(client, ALL_REGISTERED, group, [member])) === 1,
      ),
    );
    return found.every(Boolean);
  }

  /** The keys registered in the set of `tag` (expired registrations dropped first), by pages. */
  async keysOf(setKey: string, step: Step): Promise<Set<string>> {
    const keys = new Set<string>();
    if (Number(await step(runScript(this.client, TAG_PRUNE, [setKey], []), 'tag prune')) === 0)
      return keys;
    let cursor = '0';
    do {
      const [next, page] = await step(this.client.zscan(setKey, cursor, 'COUNT', 1000), 'ZSCAN');
      cursor = next;
      for (let i = 0; i < page.length; i += 2) keys.add(page[i]!.slice(TOKEN_LENGTH));
    } while (cursor !== '0');
    return keys;
  }
}

/** A tag list's token and tags; empty for '' or a list this version cannot read. */
function parseList(list: string): string[] {
  if (list === '') return [];
  try {
    const parsed: unknown = JSON.parse(list);
    return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string') ? parsed : [];
  } catch {
    return [];
  }
}
