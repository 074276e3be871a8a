import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { RedisAtomicStore } from '../src/backends/redis-atomic.store.js';
import { openRedisConnection, waitUntilReady } from '../src/backends/redis-connection.js';
import { RedisStore } from '../src/backends/redis.store.js';
import type { CacheService } from '../src/cache.service.js';
import type { TieredCache } from '../src/core/tiered-cache.js';
import type { CacheEntry } from '../src/interfaces/cache-backend.interface.js';
import { byteStoreBackend } from '../src/serialization/byte-store-backend.js';
import { encodeEntry } from '../src/serialization/entry-codec.js';
import { tagSet } from './redis-inspect.js';
import { RedisServerHarness } from './redis-server.harness.js';
import { createTestCache } from './test-cache.js';

/**
 * Issue 13: Redis may evict a tag set (or an entry's tag list) under `maxmemory` while the entry
 * itself survives; a tag delete would then not find the entry. Evictions may only turn into misses:
 * a tagged entry whose registration is gone reads as a miss and is deleted. A `DEL` of the
 * bookkeeping key by another client is exactly what an eviction does. The server can evict
 * (`maxmemory` and `allkeys-lru`): on one that cannot, reads do not check (see the last tests).
 */
describe('Redis tag registrations lost to eviction', () => {
  let redis: RedisServerHarness;
  let admin: Redis;
  let engine: TieredCache | undefined;
  let store: RedisStore | undefined;

  /** A CacheService with one tier, Redis (no L1: every read goes to Redis). */
  async function open(backend: 'redis' | 'redis-atomic'): Promise<CacheService> {
    let cache: CacheService;
    ({ cache, engine } = await createTestCache({
      namespace: 'ev',
      shared: { backend, url: redis.url, timeout: '2s' },
    }));
    return cache;
  }

  /** A Redis byte store under the serializing adapter, as the backends build it. */
  async function openStore(kind: 'redis' | 'redis-atomic', url = redis.url) {
    const connection = openRedisConnection({ url });
    const options = { commandTimeoutMs: 2_000, rootPrefix: 'ev:' };
    store =
      kind === 'redis'
        ? new RedisStore(connection, options)
        : new RedisAtomicStore(connection, options);
    expect(await waitUntilReady(connection.client, 2_000)).toBe(true);
    return { store, backend: byteStoreBackend(store) };
  }

  /** Writes through the backend's own write path: a plain write, or a compare-and-set one. */
  async function write(
    kind: 'redis' | 'redis-atomic',
    cache: CacheService,
    key: string,
    value: string,
    tags: string[],
  ): Promise<void> {
    if (kind === 'redis') await cache.set(key, value, { tags });
    else
      expect(await cache.getOrSet(key, () => value, { tags, atomic: 'at-least-once' })).toBe(value);
  }

  function entry(value: unknown, tags: string[]): CacheEntry {
    const expiresAt = Date.now() + 60_000;
    return { value, expiresAt, staleUntil: expiresAt, tags };
  }

  function entryBytes(value: string, tags: string[]): Buffer {
    return encodeEntry(entry(value, tags));
  }

  /** Calls of `command` on the server since the last CONFIG RESETSTAT. */
  async function calls(command: string): Promise<number> {
    const match = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(
      await admin.info('commandstats'),
    );
    return match === null ? 0 : Number(match[1]);
  }

  beforeAll(async () => {
    redis = await RedisServerHarness.start([
      '--maxmemory',
      '64mb',
      '--maxmemory-policy',
      'allkeys-lru',
    ]);
    admin = new Redis(redis.url, { lazyConnect: true });
    await admin.connect();
  });
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
    await store?.close();
    store = undefined;
    await admin.flushall();
  });
  afterAll(async () => {
    admin.disconnect();
    await redis.stop();
  });

  for (const kind of ['redis', 'redis-atomic'] as const) {
    it(`an entry whose tag set was evicted reads as a miss and is deleted (${kind})`, async () => {
      const cache = await open(kind);
      await write(kind, cache, 'a', 'A', ['t']);
      await write(kind, cache, 'b', 'B', ['t', 'u']);
      await write(kind, cache, 'c', 'C', ['u']);
      await cache.set('plain', 'P');
      expect(await admin.del('ev:t{ev:t}tagged')).toBe(1);

      // A deleteByTag('t') now would not find a or b: they are misses, whatever the read.
      expect(await cache.get('a')).toBeUndefined();
      expect(await cache.mget(['b', 'c', 'plain'])).toEqual([undefined, 'C', 'P']);
      expect(await cache.has('a')).toBe(false);
      // Deleted with their bookkeeping: b's registration in u went too.
      expect(await admin.exists('ev:a', 'ev:a{ev:a}tags', 'ev:b', 'ev:b{ev:b}tags')).toBe(0);
      expect((await tagSet(admin, 'ev:u')).members).toBe(1);
      expect(cache.stats().tiers.shared!.errors).toBe(0);

      // Tags still work for the entries that kept their registrations, and for new writes.
      expect(await cache.deleteByTag('u')).toBe(1);
      expect(await cache.get('c')).toBeUndefined();
      await write(kind, cache, 'a', 'A2', ['t']);
      expect(await cache.get('a')).toBe('A2');
      expect(await cache.deleteByTag('t')).toBe(1);
      expect(await cache.get('a')).toBeUndefined();
      expect(await cache.get('plain')).toBe('P');
    });

    it(`getOrSet computes again rather than serve an unregistered entry (${kind})`, async () => {
      const cache = await open(kind);
      await write(kind, cache, 'a', 'old', ['t']);
      expect(await admin.del('ev:t{ev:t}tagged')).toBe(1);
      const atomic = kind === 'redis-atomic' ? ({ atomic: 'at-most-once' } as const) : {};
      expect(await cache.getOrSet('a', () => 'new', { tags: ['t'], ...atomic })).toBe('new');
      expect(await cache.get('a')).toBe('new');
      expect(await cache.deleteByTag('t')).toBe(1);
    });

    it(`an entry whose tag list was evicted is still found by its tags (${kind})`, async () => {
      // The list only names the registrations for an overwrite to remove; the registrations
      // themselves are intact, so the entry is served and a tag delete still removes it.
      const cache = await open(kind);
      await write(kind, cache, 'a', 'A', ['t']);
      expect(await admin.del('ev:a{ev:a}tags')).toBe(1);
      expect(await cache.get('a')).toBe('A');
      expect(await cache.deleteByTag('t')).toBe(1);
      expect(await cache.get('a')).toBeUndefined();
      expect(await admin.exists('ev:a')).toBe(0);
    });

    it(`a check that fails never deletes a newer write of the key (${kind})`, async () => {
      const { store, backend } = await openStore(kind);
      const old = entryBytes('old', ['ev:t']);
      await store.setBytes('ev:k', old, 60_000, ['ev:t']);
      await backend.set('ev:k', entry('new', ['ev:t']), 60_000);
      // A reader that read `old` before the overwrite finds its registration gone: a miss for it...
      expect(await store.confirmTags('ev:k', old, ['ev:t'])).toBe(false);
      // ...but the overwrite stays, registered.
      expect((await backend.get('ev:k'))?.value).toBe('new');
      expect((await tagSet(admin, 'ev:t')).members).toBe(1);
    });

    it(`the same bytes written twice stay registered (${kind})`, async () => {
      const { store, backend } = await openStore(kind);
      const bytes = entryBytes('same', ['ev:t']);
      await store.setBytes('ev:k', bytes, 60_000, ['ev:t']);
      await store.setBytes('ev:k', bytes, 60_000, ['ev:t']);
      expect((await backend.get('ev:k'))?.value).toBe('same');
      expect(await backend.deleteByTags(['ev:t'])).toBe(1);
    });
  }

  it('an untagged read sends one GET; a tagged hit adds one command (ZSCORE, or a script for several tags)', async () => {
    const { store, backend } = await openStore('redis');
    await backend.set('ev:plain', entry(1, []), 60_000);
    await store.setBytes('ev:one', entryBytes('x', ['ev:t']), 60_000, ['ev:t']);
    await store.setBytes('ev:two', entryBytes('y', ['ev:t', 'ev:u']), 60_000, ['ev:t', 'ev:u']);
    await backend.get('ev:two'); // loads the script, if this server does not have it yet
    /** [GETs, ZSCOREs, EVALSHAs] the read sent (ZSCOREs in a script count too). */
    async function commandsOf(key: string, value: unknown): Promise<number[]> {
      await admin.config('RESETSTAT');
      expect((await backend.get(key))?.value).toBe(value);
      return [await calls('get'), await calls('zscore'), await calls('evalsha')];
    }
    expect(await commandsOf('ev:plain', 1)).toEqual([1, 0, 0]);
    expect(await commandsOf('ev:one', 'x')).toEqual([1, 1, 0]);
    expect(await commandsOf('ev:two', 'y')).toEqual([1, 2, 1]);
  });
});

/**
 * Only evictions lose registrations, so a tagged hit checks them only when Redis can evict
 * (`maxmemory` with a policy other than `noeviction`) or has evicted (`evicted_keys`). The store
 * reads that with INFO on connection and every 5 s; `evictions.refresh()` makes it happen now.
 */
describe('Redis tag checks, only where Redis can evict', () => {
  let redis: RedisServerHarness;
  let admin: Redis;
  let store: RedisStore | undefined;

  async function openStore(kind: 'redis' | 'redis-atomic', warn?: (message: string) => void) {
    const connection = openRedisConnection({
      url: redis.url,
      // ioredis's own ready check is INFO: off for the user who may not run it.
      redisOptions: { enableReadyCheck: false },
    });
    const options = { commandTimeoutMs: 2_000, rootPrefix: 'ev:', warn };
    store =
      kind === 'redis'
        ? new RedisStore(connection, options)
        : new RedisAtomicStore(connection, options);
    expect(await waitUntilReady(connection.client, 2_000)).toBe(true);
    await store.evictions.refresh();
    return { store, backend: byteStoreBackend(store) };
  }

  function entry(value: unknown, tags: string[]): CacheEntry {
    const expiresAt = Date.now() + 60_000;
    return { value, expiresAt, staleUntil: expiresAt, tags };
  }

  async function calls(command: string): Promise<number> {
    const match = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(
      await admin.info('commandstats'),
    );
    return match === null ? 0 : Number(match[1]);
  }

  /** [GETs, ZSCOREs, EVALSHAs] one read of `key` sent, and what it read. */
  async function commandsOf(
    backend: ReturnType<typeof byteStoreBackend>,
    key: string,
  ): Promise<[number[], unknown]> {
    await admin.config('RESETSTAT');
    const value = (await backend.get(key))?.value;
    return [[await calls('get'), await calls('zscore'), await calls('evalsha')], value];
  }

  /** Writes `ev:one` (tag t) and `ev:two` (tags t, u). */
  async function writeTagged(backend: ReturnType<typeof byteStoreBackend>): Promise<void> {
    await backend.set('ev:one', entry('x', ['ev:t']), 60_000);
    await backend.set('ev:two', entry('y', ['ev:t', 'ev:u']), 60_000);
  }

  /** Whether a tagged entry whose tag set is deleted behind the store is still served. */
  async function servedAfterTagSetLoss(
    backend: ReturnType<typeof byteStoreBackend>,
  ): Promise<boolean> {
    await writeTagged(backend);
    expect(await admin.del('ev:t{ev:t}tagged')).toBe(1);
    return (await backend.get('ev:one')) !== undefined;
  }

  beforeAll(async () => {
    redis = await RedisServerHarness.start(); // maxmemory 0: Redis's default
    admin = new Redis(redis.url, { lazyConnect: true });
    await admin.connect();
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    await admin.config('SET', 'maxmemory', '0');
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('RESETSTAT'); // evicted_keys back to 0
    await admin.acl('DELUSER', 'noinfo');
    await admin.flushall();
  });
  afterAll(async () => {
    admin.disconnect();
    await redis.stop();
  });

  for (const kind of ['redis', 'redis-atomic'] as const) {
    it(`on a server that cannot evict, a tagged hit is one GET (${kind})`, async () => {
      const { store, backend } = await openStore(kind);
      expect(store.evictions.mayEvict).toBe(false);
      await writeTagged(backend);
      expect(await commandsOf(backend, 'ev:one')).toEqual([[1, 0, 0], 'x']);
      expect(await commandsOf(backend, 'ev:two')).toEqual([[1, 0, 0], 'y']);
    });
  }

  it('a server made to evict at run time is checked from the next refresh on, for good', async () => {
    const { store, backend } = await openStore('redis');
    await admin.config('SET', 'maxmemory', '64mb');
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    await store.evictions.refresh();
    expect(await servedAfterTagSetLoss(backend)).toBe(false);
    expect(await admin.exists('ev:one')).toBe(0);

    // Back to noeviction: entries whose registrations it evicted meanwhile may still be there.
    await admin.config('SET', 'maxmemory', '0');
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await store.evictions.refresh();
    await admin.flushall();
    expect(await servedAfterTagSetLoss(backend)).toBe(false);
    await writeTagged(backend);
    await backend.get('ev:two'); // loads the script
    expect(await commandsOf(backend, 'ev:two')).toEqual([[1, 2, 1], 'y']);
  });

  it('a server that has evicted keys is checked, though it no longer evicts', async () => {
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
    await admin.config('SET', 'maxmemory', String(used + 1024 * 1024));
    const body = 'x'.repeat(10_000);
    for (let i = 0; i < 300; i++) await admin.set(`filler:${i}`, body);
    await admin.config('SET', 'maxmemory', '0');
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    expect(Number(/evicted_keys:(\d+)/.exec(await admin.info('stats'))![1])).toBeGreaterThan(0);
    await admin.flushall();

    const { store, backend } = await openStore('redis');
    expect(store.evictions.mayEvict).toBe(true);
    expect(await servedAfterTagSetLoss(backend)).toBe(false);
  });

  it('a user who may not run INFO keeps the check, and is told why once, without values', async () => {
    await admin.acl('SETUSER', 'noinfo', 'on', '>secret', '~*', '&*', '+@all', '-info');
    const warnings: string[] = [];
    const connection = openRedisConnection({
      url: redis.url.replace('redis://', 'redis://noinfo:secret@'),
      redisOptions: { enableReadyCheck: false },
    });
    store = new RedisStore(connection, {
      commandTimeoutMs: 2_000,
      rootPrefix: 'ev:',
      warn: (message) => warnings.push(message),
    });
    expect(await waitUntilReady(connection.client, 2_000)).toBe(true);
    await store.evictions.refresh();
    await store.evictions.refresh();
    expect(store.evictions.mayEvict).toBe(true);
    expect(warnings).toEqual([
      'cannot tell whether Redis may evict keys: INFO failed (NOPERM); every tagged hit keeps checking its tag registrations (one more command), as if it could',
    ]);
    expect(await servedAfterTagSetLoss(byteStoreBackend(store))).toBe(false);
  });
});
