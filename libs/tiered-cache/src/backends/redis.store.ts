import { Cluster, type Redis } from 'ioredis';
import { withDeadline } from '../core/deadline.js';
import type { ByteStore } from '../interfaces/byte-store.interface.js';
import type { MaybePromise } from '../interfaces/cache-backend.interface.js';
import { escapeGlob, globToRegExp } from '../keys/glob.js';
import { bulkSteps, DELETE_BATCH, unlinkInSteps, type Step } from './redis-bulk.js';
import { groupBySlot, keyPrefixOf } from './redis-cluster.js';
import { openNewMasters, scanKeys, type RedisConnection } from './redis-connection.js';
import { BUS_CONNECTION, BUS_WRITE_SENT } from '../core/bus-connection.js';
import { STORE_TOPOLOGY, type StoreTopology } from '../core/store-topology.js';
import {
  internalKey,
  parseInternalKey,
  redisKeyOf,
  redisScanPattern,
  storedKeyOf,
} from './redis-keys.js';
import { DROP_UNREGISTERED } from './redis-entry-scripts.js';
import { runScript } from './redis-scripts.js';
import { RedisEvictionWatch } from './redis-eviction-watch.js';
import { entryDigest, RedisTagIndex, writeToken } from './redis-tag-index.js';
import { redisTopology } from './redis-topology.js';

/**
 * A duration as Redis takes it in `PX` and `PEXPIRE`: a whole number of ms, at least 1. Times on a
 * fractional clock (`performance.timeOrigin + performance.now()`) leave fractions, which Redis
 * refuses ("value is not an integer"); rounding up never expires an entry before its time.
 */
export function redisMs(ms: number): number {
  return ms >= 1 ? Math.ceil(ms) : 1;
}

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /** Deadline of each command of a bulk operation (pattern, tag and prefix deletes), in ms. */
  commandTimeoutMs: number;
  /** `<root namespace>:`, the prefix of the engine's keys (see `inflightPrefix` in redis-keys.ts). */
  rootPrefix?: string;
  /** Where to say why tagged hits keep checking their registrations (INFO refused: once). */
  warn?: (message: string) => void;
}

/**
 * Redis through ioredis, as a byte store (the serializing adapter above it encodes, limits sizes and
 * deletes corrupt entries). Every key it writes starts with `<namespace>:` (see `redis-keys.ts`):
 * an entry lives under its readable namespaced key as the binary envelope; tags are sorted sets
 * of the writes carrying them, kept to their live members (`redis-tag-index.ts`). Pattern deletes
 * use SCAN (never KEYS), on every master of a cluster, and delete what matches in batches.
 */
export class RedisStore implements ByteStore {
  readonly name: string = 'redis';
  readonly client: Redis | Cluster;
  protected readonly isCluster: boolean;
  /** The client's ioredis `keyPrefix`: part of every key as Redis hashes it. */
  protected readonly keyPrefix: string;
  protected readonly tags: RedisTagIndex;
  /** Whether Redis may evict keys, so that a tagged hit must check its registrations. */
  readonly evictions: RedisEvictionWatch;
  /** Stops opening the connections of masters a Cluster adds (see `openNewMasters`). */
  private readonly stopOpeningMasters: () => void;

  /** The connection the invalidation bus publishes on and tracks (see `core/bus-connection.ts`). */
  [BUS_CONNECTION](): Redis | Cluster {
    return this.client;
  }

  /**
   * An untagged write sends the `SET` of its entry as {@link setBytes} is called; a tagged one
   * registers its tags first, a round trip earlier (see `core/bus-connection.ts`).
   */
  [BUS_WRITE_SENT](tags: readonly string[]): boolean {
    return tags.length === 0;
  }

  /** The servers behind this store, and when they change (see `redis-topology.ts`). */
  [STORE_TOPOLOGY](): StoreTopology {
    return redisTopology(this.client);
  }

  constructor(
    protected readonly connection: RedisConnection,
    protected readonly options: RedisStoreOptions,
  ) {
    this.client = connection.client;
    this.isCluster = connection.client instanceof Cluster;
    this.keyPrefix = keyPrefixOf(this.client);
    this.tags = new RedisTagIndex(this.client, this.keyPrefix);
    this.evictions = new RedisEvictionWatch(this.client, options.commandTimeoutMs, options.warn);
    this.stopOpeningMasters =
      this.client instanceof Cluster ? openNewMasters(this.client) : () => undefined;
    // Failures are reported by the tier that makes the call; without a listener ioredis prints each one.
    this.client.on('error', () => undefined);
  }

  getBytes(key: string): Promise<Buffer | null> {
    return this.client.getBuffer(redisKeyOf(key));
  }

  /**
   * Writes an entry with plain commands, sent together in this order (ioredis keeps the order on
   * the connection; a cluster puts an entry's keys on one node). Its tag list is read before the
   * entry is replaced, so the registrations of that list belong to a value this write replaces,
   * and are removed afterwards (see `RedisTagIndex`). A tagged entry is registered in its tag
   * sets first (a tag delete that reads them afterwards finds it) and expires when its
   * registrations do. No script: Redis 7.0 reports a key a script changed to the very connection
   * that ran it, even under CLIENT TRACKING NOLOOP, which would evict the writer's own L1.
   */
  async setBytes(
    key: string,
    bytes: Buffer,
    ttlMs: number,
    tags: readonly string[],
  ): Promise<void> {
    const [entry, list] = this.entryKeys(key);
    const client = this.client;
    ttlMs = redisMs(ttlMs);
    if (tags.length === 0) {
      const [replaced] = await Promise.all([
        client.get(list),
        client.set(entry, bytes, 'PX', ttlMs),
      ]);
      if (replaced === null) return; // the usual case: it replaced no tagged write
      await client.unlink(list);
      return this.forgetReplaced(key, replaced);
    }
    const token = writeToken(entryDigest(bytes));
    const expiresAt = await this.tags.register(key, token, tags, ttlMs);
    // PX first, so that the keys expire even if the PEXPIREAT that aligns them never runs.
    const [replaced] = await Promise.all([
      client.get(list),
      client.set(entry, bytes, 'PX', ttlMs),
      client.pexpireat(entry, expiresAt),
      client.set(list, this.tags.list(token, tags), 'PX', ttlMs),
      client.pexpireat(list, expiresAt),
    ]);
    return this.forgetReplaced(key, replaced, token);
  }

  /**
   * Whether a tagged entry just read is still registered in the set of each of its tags (see
   * `RedisTagIndex`); when Redis evicted one of them, a tag delete would not find the entry, so it
   * is deleted (only if it still holds the bytes checked: an overwrite meanwhile is kept) and read
   * as a miss. The registrations are named by the token of the bytes, so nothing else is read.
   * On a cluster, a tag set's master that cannot answer makes a miss, not an error: the tier keeps
   * a breaker per master, and this key's master is not the one that failed.
   *
   * Only registrations Redis evicted can be missing: when no master can evict (nor has evicted,
   * see `RedisEvictionWatch`), the answer is true at once, with no command.
   */
  confirmTags(key: string, bytes: Uint8Array, tags: readonly string[]): MaybePromise<boolean> {
    return this.evictions.mayEvict ? this.checkTags(key, bytes, tags) : true;
  }

  /** {@link confirmTags} when Redis may have evicted a registration: one command per slot. */
  private async checkTags(
    key: string,
    bytes: Uint8Array,
    tags: readonly string[],
  ): Promise<boolean> {
    const digest = entryDigest(bytes);
    try {
      if (await this.tags.registered(key, writeToken(digest), tags)) return true;
    } catch (err) {
      if (!this.isCluster) throw err;
      return false;
    }
    const [entry, list] = this.entryKeys(key);
    const dropped = await runScript(
      this.client,
      DROP_UNREGISTERED,
      [entry, list],
      [digest.toString('hex')],
    );
    await this.forgetReplaced(key, dropped);
    return false;
  }

  /** Deletes entries, with their tag lists (and their registrations) and versions. */
  async delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    // Batches of one hash slot on a cluster (their commands are multi-key), sent a step at a time.
    let removed = 0;
    for (const step of bulkSteps(this.bySlot(keys), DELETE_BATCH)) {
      const results = await this.step(
        Promise.all(step.map((batch) => this.deleteBatch(batch))),
        'delete',
      );
      const lists: Array<readonly [string, string]> = [];
      step.forEach((batch, b) => {
        const [count, replaced] = results[b]!;
        removed += count;
        batch.forEach((key, k) => {
          const list = replaced[k];
          if (list) lists.push([key, list]);
        });
      });
      if (lists.length > 0) await this.tags.forget(lists, this.step).catch(() => undefined);
    }
    return removed;
  }

  async deletePattern(glob: string): Promise<number> {
    // SCAN MATCH matches bytes and escaped keys; it only pre-filters, and the library's one
    // matcher decides, on the stored key (bookkeeping keys are never matched).
    const matcher = globToRegExp(glob);
    let removed = 0;
    await scanKeys(
      this.client,
      redisScanPattern(glob),
      async (keys) => {
        const matching: string[] = [];
        for (const key of keys) {
          const stored = storedKeyOf(key);
          if (stored !== undefined && matcher.test(stored)) matching.push(stored);
        }
        if (matching.length > 0) removed += await this.delete(matching);
      },
      this.options.commandTimeoutMs,
    );
    return removed;
  }

  /**
   * Deletes the entries registered under the tags. Registrations are removed only with the write
   * they name (see `RedisTagIndex`), so a write in progress keeps its own and the next tag delete
   * finds it; one found here whose entry was since overwritten costs that entry a miss.
   */
  async deleteByTags(tags: readonly string[]): Promise<number> {
    const keys = new Set<string>();
    for (const tag of tags)
      for (const key of await this.tags.keysOf(this.tags.setKey(tag), this.step)) keys.add(key);
    return this.delete([...keys]);
  }

  /**
   * Removes everything under `prefix`: entries (with their registrations), the entries of its tag
   * sets, versions; a held lease is left to expire (at-most-once computations keep it), and so is
   * an `inflight` set (the computations in it are cancelled by the atomic store first).
   */
  async clear(prefix: string): Promise<void> {
    await scanKeys(
      this.client,
      `${escapeGlob(redisKeyOf(prefix))}*`,
      async (keys) => {
        const entries: string[] = [];
        const versions: string[] = [];
        for (const key of keys) {
          const stored = storedKeyOf(key);
          if (stored !== undefined) {
            entries.push(stored);
            continue;
          }
          const internal = parseInternalKey(key);
          const name = internal === undefined ? undefined : storedKeyOf(internal.name);
          if (internal === undefined || name === undefined) continue;
          if (internal.kind === 'tags') entries.push(name);
          else if (internal.kind === 'ver') versions.push(key);
          else if (internal.kind === 'tagged')
            entries.push(...(await this.tags.keysOf(key, this.step)));
        }
        await this.delete(entries);
        await this.unlink(versions);
      },
      this.options.commandTimeoutMs,
    );
  }

  async ping(): Promise<number> {
    const started = performance.now();
    await this.client.ping();
    return performance.now() - started;
  }

  /** The ioredis connection state ('ready', 'connecting', 'reconnecting', 'end'...). */
  details(): Record<string, unknown> {
    return { connection: this.client.status };
  }

  async close(): Promise<void> {
    this.evictions.close();
    this.stopOpeningMasters();
    if (!this.connection.owned) return;
    const client = this.client;
    if (client.status === 'end') return;
    if (client.status === 'ready') {
      const quit = client.quit().catch(() => undefined);
      const timer = setTimeout(() => client.disconnect(), 1_000);
      await quit;
      clearTimeout(timer);
    }
    client.disconnect();
  }

  /** The Redis keys of an entry: itself, its tag list and its version (one hash slot). */
  protected entryKeys(key: string): [entry: string, list: string, version: string] {
    const entry = redisKeyOf(key);
    return [
      entry,
      internalKey(entry, 'tags', this.keyPrefix),
      internalKey(entry, 'ver', this.keyPrefix),
    ];
  }

  /**
   * Removes the registrations of the write an overwrite replaced (best effort: they expire), unless
   * it wrote the very same bytes (`token`, same registrations: they are the new write's too).
   */
  protected async forgetReplaced(key: string, replaced: unknown, token?: string): Promise<void> {
    if (typeof replaced !== 'string' || replaced === '') return;
    if (token !== undefined && this.tags.isListOf(replaced, token)) return;
    await this.tags.forget([[key, replaced]], this.step).catch(() => undefined);
  }

  /** UNLINKs Redis keys in steps (see `redis-bulk.ts`), grouped by hash slot on a cluster. */
  protected unlink(keys: readonly string[]): Promise<number> {
    const groups = this.isCluster ? groupBySlot(keys, this.keyPrefix) : [keys];
    return unlinkInSteps(this.client, groups, this.step);
  }

  /** Stored keys grouped by the hash slot of their Redis key on a cluster; one group on a single node. */
  protected bySlot(keys: readonly string[]): string[][] {
    return this.isCluster ? groupBySlot(keys, this.keyPrefix, redisKeyOf) : [[...keys]];
  }

  /** One command of a bulk operation, under the per-command deadline (a function helpers are handed). */
  protected readonly step: Step = (command, what) =>
    withDeadline(command, this.options.commandTimeoutMs, `Redis ${what}`);

  /**
   * Deletes entries of one hash slot (any on a single node): their versions first (no computation
   * in flight stores after that), their tag lists read before the entries go (as in
   * {@link setBytes}), then the entries and the lists. Resolves to how many entries existed and
   * each one's tag list (null: none).
   */
  private async deleteBatch(keys: readonly string[]): Promise<[number, Array<string | null>]> {
    const entries: string[] = [];
    const lists: string[] = [];
    const versions: string[] = [];
    for (const key of keys) {
      const [entry, list, version] = this.entryKeys(key);
      entries.push(entry);
      lists.push(list);
      versions.push(version);
    }
    const client = this.client;
    const [, replaced, count] = await Promise.all([
      client.unlink(...versions),
      client.mget(...lists),
      client.unlink(...entries),
      client.unlink(...lists),
    ]);
    return [count, replaced];
  }
}
