import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { internalKey, redisKeyOf, TOKEN_LENGTH } from './redis-keys.js';
import { TAG_PRUNE, TAG_REGISTER, TAG_UNREGISTER } from './redis-entry-scripts.js';
import { runScript } from './redis-scripts.js';

/** Members removed from one tag set per command. */
const BATCH = 500;

/** A random token of {@link TOKEN_LENGTH} characters naming one write (or one computation). */
export function newToken(): string {
  return randomBytes(8).toString('base64url');
}

/** One command of a bulk operation, under its deadline. */
export type Step = <T>(command: Promise<T>, what: string) => Promise<T>;

/**
 * The tag sets of the Redis backends: for each tag, a sorted set of the writes carrying it
 * (`<token><key>`, scored by the write's expiry), and for each tagged entry, its tag list (the
 * token of its write and its tags, next to it in its hash slot).
 *
 * A write registers in its tag sets before its value is written, with a token of its own; the
 * entry's tag list records that token. A registration is removed only by whoever removes the write
 * it names: an overwrite or a delete removes the registrations of the tag list it replaced or
 * deleted, so a write still in progress (registered, value not yet written) never loses its own.
 * A registration whose write never landed, or whose removal failed, goes when it expires: every
 * write and read of a tag set drops expired members, and the set expires with its last member.
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
