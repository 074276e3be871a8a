import { randomBytes } from 'node:crypto';
import type { AtomicByteStore } from '../interfaces/byte-store.interface.js';
import type { RedisConnection } from './redis-connection.js';
import { redisMs, RedisStore, type RedisStoreOptions } from './redis.store.js';
import {
  DELETE_AND_BUMP,
  READ_VERSION,
  RELEASE_LEASE,
  runScript,
  SET_IF_VERSION,
} from './redis-scripts.js';

/** Prefix of lease keys: `__lease:<key>`. */
export const LEASE_PREFIX = '__lease:';
/** Prefix of per-key version counters: `__ver:<key>`. */
export const VERSION_PREFIX = '__ver:';
/** The invalidation epoch, bumped by every pattern, tag and clear invalidation. */
export const EPOCH_KEY = '__epoch';
/** How long a version counter outlives its last bump: longer than any computation can take. */
const VERSION_TTL_MS = 24 * 3_600_000;

/** An opaque snapshot of what may invalidate a key: its version and the invalidation epoch. */
export type WriteVersion = string;

/**
 * `redis` plus the two primitives of atomic writes, all done by Lua scripts so they stay atomic on
 * ioredis's shared, pipelined connection (a WATCH there would be unwatched by other callers' EXECs):
 *
 * - a lease lock: `acquireLease` is `SET NX PX` with a random token, `releaseLease` deletes only
 *   when the token still matches, so a holder whose lease expired cannot free someone else's;
 * - compare-and-set writes: `readVersion` before computing, `setIfVersion` after. Every delete
 *   bumps the deleted keys' versions (absent keys too) and every pattern, tag or clear
 *   invalidation bumps a global epoch, so a value computed before an invalidation never lands
 *   after it, even when the key did not exist when the computation began.
 *
 * Uses multi-key scripts, so it needs a single Redis node (or Sentinel), not a Cluster.
 */
export class RedisAtomicStore extends RedisStore implements AtomicByteStore {
  override readonly name: string = 'redis-atomic';

  constructor(connection: RedisConnection, options: RedisStoreOptions) {
    super(connection, options);
  }

  /** Tries to take the lease of `key` for `ttlMs`; resolves to the token, or undefined when held by another. */
  async acquireLease(key: string, ttlMs: number): Promise<string | undefined> {
    const token = randomBytes(16).toString('base64url');
    const ok = await this.client.set(LEASE_PREFIX + key, token, 'PX', redisMs(ttlMs), 'NX');
    return ok === 'OK' ? token : undefined;
  }

  /** Releases a lease if `token` still holds it; resolves to whether it did. */
  async releaseLease(key: string, token: string): Promise<boolean> {
    return (await runScript(this.client, RELEASE_LEASE, [LEASE_PREFIX + key], [token])) === 1;
  }

  /** Reads the version snapshot to pass to {@link setIfVersion} once the value is computed. */
  async readVersion(key: string): Promise<WriteVersion> {
    const [version, epoch] = (await runScript(
      this.client,
      READ_VERSION,
      [VERSION_PREFIX + key, EPOCH_KEY],
      [],
    )) as [string, string];
    return `${version}|${epoch}`;
  }

  /** Writes the bytes only if nothing invalidated `key` since `version` was read; resolves to whether it did. */
  async setBytesIfVersion(
    key: string,
    bytes: Buffer,
    ttlMs: number,
    tags: readonly string[],
    version: WriteVersion,
  ): Promise<boolean> {
    const cut = version.indexOf('|');
    const written = await runScript(
      this.client,
      SET_IF_VERSION,
      [key, VERSION_PREFIX + key, EPOCH_KEY],
      [version.slice(0, cut), version.slice(cut + 1), bytes, redisMs(ttlMs)],
    );
    if (written !== 1) return false;
    await this.addTags(key, tags, ttlMs); // after the value, as `setBytes` does
    return true;
  }

  override async delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    let removed = 0;
    for (let i = 0; i < keys.length; i += 250) {
      const pairs: string[] = [];
      for (const key of keys.slice(i, i + 250)) pairs.push(key, VERSION_PREFIX + key);
      removed += Number(
        await this.step(
          runScript(this.client, DELETE_AND_BUMP, pairs, [VERSION_TTL_MS]),
          'DELETE_AND_BUMP',
        ),
      );
    }
    return removed;
  }

  override async deletePattern(glob: string): Promise<number> {
    await this.bumpEpoch();
    return super.deletePattern(glob);
  }

  override async deleteByTags(tags: readonly string[]): Promise<number> {
    await this.bumpEpoch();
    return super.deleteByTags(tags);
  }

  override async clear(prefix: string): Promise<void> {
    await this.bumpEpoch();
    await super.clear(prefix);
  }

  private async bumpEpoch(): Promise<void> {
    await this.step(this.client.incr(EPOCH_KEY), 'INCR');
  }
}
