import { randomBytes } from 'node:crypto';
import type { AtomicByteStore } from '../interfaces/byte-store.interface.js';
import { globToRegExp } from '../keys/glob.js';
import type { RedisConnection } from './redis-connection.js';
import {
  INFLIGHT_ADD,
  INFLIGHT_READ,
  READ_VERSION,
  WRITE_IF_VERSION,
} from './redis-entry-scripts.js';
import {
  inflightPrefix,
  inflightPrefixesOf,
  internalKey,
  redisKeyOf,
  TOKEN_LENGTH,
} from './redis-keys.js';
import { RELEASE_LEASE, runScript } from './redis-scripts.js';
import { entryDigest, newToken, writeToken } from './redis-tag-index.js';
import { redisMs, RedisStore, type RedisStoreOptions } from './redis.store.js';

/**
 * How long an entry's version lives after the first at-least-once computation read it: longer
 * than a computation takes. A computation that takes longer is not stored (its caller still gets
 * its value).
 */
export const VERSION_TTL_MS = 5 * 60_000;
/** How long a computation stays registered as in flight: longer than the version it read lives. */
const INFLIGHT_TTL_MS = VERSION_TTL_MS + 60_000;

/** The version of a computation that could not be registered: it never stores its value. */
const UNREGISTERED = '';

/** An opaque snapshot of what may invalidate a key: its version and the computation's id. */
export type WriteVersion = string;

/**
 * `redis` plus the two primitives of atomic writes, all done by Lua scripts so they stay atomic on
 * ioredis's shared, pipelined connection (a WATCH there would be unwatched by other callers' EXECs):
 *
 * - a lease lock: `acquireLease` is `SET NX PX` with a random token, `releaseLease` deletes only
 *   when the token still matches, so a holder whose lease expired cannot free someone else's;
 * - compare-and-set writes: `readVersion` registers the computation in its namespace's
 *   `inflight` set, then reads (or creates) the entry's version; `setBytesIfVersion` writes only
 *   if that version is still there. Every invalidation removes the versions it concerns: a delete
 *   those of its keys (absent keys too), a pattern, tag or clear invalidation those of the
 *   registered computations it may concern (all of the namespace for a tag, the matching ones
 *   for a pattern or clear), before it deletes anything. So a value computed before an
 *   invalidation never lands after it, even when the key did not exist when the computation
 *   began, and nothing is left behind: a version lives while computations read it, at most
 *   {@link VERSION_TTL_MS}.
 *
 * Every script touches one hash slot (the entry's keys share it: see `redis-keys.ts`), so this
 * works on a Redis Cluster as on a single node or Sentinel.
 */
export class RedisAtomicStore extends RedisStore implements AtomicByteStore {
  override readonly name: string = 'redis-atomic';

  constructor(connection: RedisConnection, options: RedisStoreOptions) {
    super(connection, options);
  }

  /** Tries to take the lease of `key` for `ttlMs`; resolves to the token, or undefined when held by another. */
  async acquireLease(key: string, ttlMs: number): Promise<string | undefined> {
    const token = randomBytes(16).toString('base64url');
    const ok = await this.client.set(this.leaseKey(key), token, 'PX', redisMs(ttlMs), 'NX');
    return ok === 'OK' ? token : undefined;
  }

  /** Releases a lease if `token` still holds it; resolves to whether it did. */
  async releaseLease(key: string, token: string): Promise<boolean> {
    return (await runScript(this.client, RELEASE_LEASE, [this.leaseKey(key)], [token])) === 1;
  }

  /**
   * Registers a computation of `key` and reads the version to pass to {@link setBytesIfVersion}
   * once its value is computed. The registration comes first: an invalidation that reads the
   * `inflight` set before it began later than this computation. On a cluster, when the
   * registration fails (the `inflight` set's master is down), the version is still read (so that a
   * failure of the key's own master is reported as one) but never matches: the value is not
   * stored, and the other master's failure is not blamed on this key's (the tier keeps a breaker
   * per master).
   */
  async readVersion(key: string): Promise<WriteVersion> {
    const id = newToken();
    let registered = true;
    try {
      await runScript(
        this.client,
        INFLIGHT_ADD,
        [this.inflightKey(key)],
        [id + key, INFLIGHT_TTL_MS],
      );
    } catch (err) {
      if (!this.isCluster) throw err;
      registered = false;
    }
    const version = await runScript(
      this.client,
      READ_VERSION,
      [this.entryKeys(key)[2]],
      [newToken(), VERSION_TTL_MS],
    );
    return registered ? String(version) + id : UNREGISTERED;
  }

  /** Writes the bytes only if nothing invalidated `key` since `version` was read; resolves to whether it did. */
  async setBytesIfVersion(
    key: string,
    bytes: Buffer,
    ttlMs: number,
    tags: readonly string[],
    version: WriteVersion,
  ): Promise<boolean> {
    if (version === UNREGISTERED) return false;
    ttlMs = redisMs(ttlMs);
    const expected = version.slice(0, TOKEN_LENGTH);
    const id = version.slice(TOKEN_LENGTH);
    const keys = this.entryKeys(key);
    let replaced: unknown;
    let token: string | undefined;
    if (tags.length === 0) {
      replaced = await runScript(this.client, WRITE_IF_VERSION, keys, [
        expected,
        bytes,
        'px',
        ttlMs,
        '',
      ]);
    } else {
      // Registered in its tag sets first, as `setBytes` does.
      token = writeToken(entryDigest(bytes));
      const list = this.tags.list(token, tags);
      const expiresAt = await this.tags.register(key, token, tags, ttlMs);
      replaced = await runScript(this.client, WRITE_IF_VERSION, keys, [
        expected,
        bytes,
        'at',
        expiresAt,
        list,
      ]);
      if (replaced === null) await this.tags.forget([[key, list]], this.step).catch(noop);
    }
    // Only once the outcome is known: a write still on its way must stay visible to invalidations.
    await this.client.zrem(this.inflightKey(key), id + key).catch(noop);
    if (replaced === null) return false;
    await this.forgetReplaced(key, replaced, token);
    return true;
  }

  override async deletePattern(glob: string): Promise<number> {
    const matcher = globToRegExp(glob);
    await this.cancelInFlight(this.prefixesOf(glob), (key) => matcher.test(key));
    return super.deletePattern(glob);
  }

  override async deleteByTags(tags: readonly string[]): Promise<number> {
    // Which keys a computation will tag is not known before it is stored: all of the namespace.
    const root = this.options.rootPrefix;
    await this.cancelInFlight(
      new Set(tags.flatMap((tag) => inflightPrefixesOf(tag, root))),
      () => true,
    );
    return super.deleteByTags(tags);
  }

  override async clear(prefix: string): Promise<void> {
    await this.cancelInFlight(this.prefixesOf(prefix), (key) => key.startsWith(prefix));
    await super.clear(prefix);
  }

  /**
   * Removes the versions read by the computations in flight registered under `prefixes`, for the
   * keys `concerns` selects: those computations no longer store their value. Their registrations
   * stay until they finish.
   */
  private async cancelInFlight(
    prefixes: Iterable<string>,
    concerns: (key: string) => boolean,
  ): Promise<void> {
    const versions = new Set<string>();
    for (const prefix of prefixes) {
      const members = (await this.step(
        runScript(this.client, INFLIGHT_READ, [this.inflightKeyOf(prefix)], []),
        'inflight read',
      )) as string[];
      for (const member of members) {
        const key = member.slice(TOKEN_LENGTH);
        if (concerns(key)) versions.add(this.entryKeys(key)[2]);
      }
    }
    await this.unlink([...versions]);
  }

  /** The `inflight` prefixes an invalidation of `stored` (a pattern or prefix) concerns. */
  private prefixesOf(stored: string): string[] {
    return inflightPrefixesOf(stored, this.options.rootPrefix);
  }

  private leaseKey(key: string): string {
    return internalKey(redisKeyOf(key), 'lease', this.keyPrefix);
  }

  /** The `inflight` set a computation of `key` registers in. */
  private inflightKey(key: string): string {
    return this.inflightKeyOf(inflightPrefix(key, this.options.rootPrefix));
  }

  private inflightKeyOf(prefix: string): string {
    return internalKey(redisKeyOf(prefix), 'inflight', this.keyPrefix);
  }
}

function noop(): void {}
