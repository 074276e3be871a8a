import { Cluster, type Redis } from 'ioredis';
import { withDeadline } from '../core/deadline.js';
import type { ByteStore } from '../interfaces/byte-store.interface.js';
import { escapeGlob, globToRegExp, scanPattern } from '../keys/glob.js';
import { scanKeys, type RedisConnection } from './redis-connection.js';
import { BUS_CONNECTION } from '../core/bus-connection.js';
import { runScript, TAG_ADD, UNTAG } from './redis-scripts.js';

/** Prefix of the Redis sets that index tagged keys: `__tags:<namespace>:<tag>`. */
export const TAG_SET_PREFIX = '__tags:';
const UNLINK_BATCH = 500;

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
}

/**
 * Redis through ioredis, as a byte store (the serializing adapter above it encodes, limits sizes and
 * deletes corrupt entries). Entries live under their readable namespaced key as the binary envelope;
 * tags are Redis sets (`__tags:<ns>:<tag>`) that live as long as their longest member. Pattern
 * deletes use SCAN and UNLINK in batches (never KEYS), on every master of a cluster.
 */
export class RedisStore implements ByteStore {
  readonly name: string = 'redis';
  readonly client: Redis | Cluster;
  protected readonly isCluster: boolean;

  /** The connection the invalidation bus publishes on and tracks (see `core/bus-connection.ts`). */
  [BUS_CONNECTION](): Redis | Cluster {
    return this.client;
  }

  constructor(
    protected readonly connection: RedisConnection,
    protected readonly options: RedisStoreOptions,
  ) {
    this.client = connection.client;
    this.isCluster = connection.client instanceof Cluster;
    // Failures are reported by the tier that makes the call; without a listener ioredis prints each one.
    this.client.on('error', () => undefined);
  }

  getBytes(key: string): Promise<Buffer | undefined> {
    return this.client.getBuffer(key).then(orUndefined);
  }

  async setBytes(
    key: string,
    bytes: Buffer,
    ttlMs: number,
    tags: readonly string[],
  ): Promise<void> {
    await this.client.set(key, bytes, 'PX', redisMs(ttlMs));
    await this.addTags(key, tags, ttlMs);
  }

  async delete(keys: readonly string[]): Promise<number> {
    return this.unlink(keys);
  }

  async deletePattern(glob: string): Promise<number> {
    // SCAN MATCH matches bytes; it only pre-filters, and the library's one matcher decides.
    const matcher = globToRegExp(glob);
    let removed = 0;
    await scanKeys(
      this.client,
      scanPattern(glob),
      async (keys) => {
        const matching = keys.filter((key) => matcher.test(key));
        if (matching.length > 0) removed += await this.delete(matching);
      },
      this.options.commandTimeoutMs,
    );
    return removed;
  }

  async deleteByTags(tags: readonly string[]): Promise<number> {
    const tagKeys = tags.map((tag) => TAG_SET_PREFIX + tag);
    return this.untag(await this.members(tagKeys), tagKeys);
  }

  /**
   * Deletes tagged keys and removes them (only them) from their tag sets: a key tagged while the
   * sets were being read keeps its registration, so the next tag delete still finds it. On a single
   * node each batch is one script, so no write lands between a key's removal and its
   * unregistration; with the write's order (value, then tags) no tagged value escapes.
   */
  private async untag(members: readonly string[], tagKeys: readonly string[]): Promise<number> {
    if (members.length === 0) return 0;
    if (this.isCluster) {
      const removed = await this.unlink(members);
      for (const tagKey of tagKeys)
        for (let i = 0; i < members.length; i += UNLINK_BATCH)
          await this.step(this.client.srem(tagKey, ...members.slice(i, i + UNLINK_BATCH)), 'SREM');
      return removed;
    }
    let removed = 0;
    for (let i = 0; i < members.length; i += UNLINK_BATCH) {
      const batch = members.slice(i, i + UNLINK_BATCH);
      removed += Number(
        await this.step(runScript(this.client, UNTAG, [...tagKeys], [...batch]), 'tag delete'),
      );
    }
    return removed;
  }

  async clear(prefix: string): Promise<void> {
    const escaped = escapeGlob(prefix);
    // Tagged keys first, each removed with its registration in one step (as a tag delete does):
    // no tag set ever loses a registration whose key is still there, whatever runs meanwhile.
    const tagKeys: string[] = [];
    await scanKeys(
      this.client,
      `${TAG_SET_PREFIX}${escaped}*`,
      async (keys) => {
        tagKeys.push(...keys);
      },
      this.options.commandTimeoutMs,
    );
    for (const tagKey of tagKeys) await this.untag(await this.members([tagKey]), [tagKey]);
    await this.deletePattern(`${escaped}*`);
  }

  /** The members of tag sets (SSCAN, one page at a time). */
  private async members(tagKeys: readonly string[]): Promise<string[]> {
    const members = new Set<string>();
    for (const tagKey of tagKeys) {
      let cursor = '0';
      do {
        const [next, batch] = await this.step(
          this.client.sscan(tagKey, cursor, 'COUNT', 1000),
          'SSCAN',
        );
        cursor = next;
        for (const key of batch) members.add(key);
      } while (cursor !== '0');
    }
    return [...members];
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

  /**
   * Indexes a key under its tags, after its value was written: a tag delete running meanwhile
   * either removes the value or leaves the registration (see {@link untag}). A write that fails
   * between the two is forgotten by its tier (the key is deleted), so it escapes no tag delete.
   */
  protected async addTags(key: string, tags: readonly string[], ttlMs: number): Promise<void> {
    if (tags.length === 0) return;
    await Promise.all(
      tags.map((tag) =>
        runScript(this.client, TAG_ADD, [TAG_SET_PREFIX + tag], [key, redisMs(ttlMs)]),
      ),
    );
  }

  /** UNLINKs keys in batches: one command per batch on a single node, one per key on a cluster. */
  protected async unlink(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    if (this.isCluster) {
      const counts = await this.step(
        Promise.all(keys.map((key) => this.client.unlink(key))),
        'UNLINK',
      );
      return counts.reduce((a, b) => a + b, 0);
    }
    let removed = 0;
    for (let i = 0; i < keys.length; i += UNLINK_BATCH) {
      removed += await this.step(this.client.unlink(...keys.slice(i, i + UNLINK_BATCH)), 'UNLINK');
    }
    return removed;
  }

  /** One command of a bulk operation, under the per-command deadline. */
  protected step<T>(command: Promise<T>, what: string): Promise<T> {
    return withDeadline(command, this.options.commandTimeoutMs, `Redis ${what}`);
  }
}

function orUndefined(bytes: Buffer | null): Buffer | undefined {
  return bytes ?? undefined;
}
