import { NestFactory } from '@nestjs/core';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { Redis } from 'ioredis';
import { CacheModule, CacheService, type CacheModuleOptions } from 'nest-tiered-cache';
import { clusterClient, clusterNodes } from '../infra/redis-cluster.js';
import { ITEM } from '../servers/bodies.js';

/** A library-level contender, set up with `keys` already stored; `op` reads one key. */
export interface LibraryContender {
  /** A synchronous read (the raw ceiling) or one that returns a promise. */
  readonly op: (key: string) => unknown;
  readonly sync: boolean;
  /** The raw client of a library that talks to Redis through ioredis (for `INFO commandstats`-free checks). */
  close(): Promise<void>;
  /** Whether a read of `key` returns the stored value (checked before measuring). */
  check(key: string): Promise<boolean>;
}

const TTL_MS = 3_600_000;

async function ours(
  options: CacheModuleOptions,
  keys: readonly string[],
  mode: 'get' | 'getOrSet',
): Promise<LibraryContender> {
  @Module({ imports: [CacheModule.forRoot({ namespace: 'bench', ttl: '1h', ...options })] })
  class LibraryBenchModule {}
  const app: INestApplicationContext = await NestFactory.createApplicationContext(
    LibraryBenchModule,
    { logger: ['error', 'warn'] },
  );
  const cache = app.get(CacheService);
  for (const key of keys) await cache.set(key, ITEM);
  const factory = () => ITEM;
  const op =
    mode === 'get'
      ? (key: string) => cache.get(key)
      : (key: string) => cache.getOrSet(key, factory);
  return {
    op,
    sync: false,
    check: async (key) => JSON.stringify(await op(key)) === JSON.stringify(ITEM),
    close: () => app.close(),
  };
}

async function bento(
  redisUrl: string | undefined,
  l1: boolean,
  keys: readonly string[],
  mode: 'get' | 'getOrSet',
): Promise<LibraryContender> {
  const { BentoCache, bentostore } = await import('bentocache');
  const { memoryDriver } = await import('bentocache/drivers/memory');
  let store = bentostore();
  let client: { quit(): Promise<unknown> } | undefined;
  if (l1) store = store.useL1Layer(memoryDriver({ maxItems: 10_000, maxSize: 512 * 1024 * 1024 }));
  if (redisUrl !== undefined) {
    const { redisDriver } = await import('bentocache/drivers/redis');
    const { Redis: Redis5 } = await import('ioredis5');
    const connection = new Redis5(redisUrl, { enableAutoPipelining: true });
    client = connection;
    // bentocache's types name ioredis 6 (the one installed at the top); at run time it gets ioredis 5.
    store = store.useL2Layer(redisDriver({ connection: connection as never }));
  }
  const cache = new BentoCache({
    default: 'bench',
    stores: { bench: store },
    ttl: TTL_MS,
    logger: undefined,
  });
  for (const key of keys) await cache.set({ key, value: ITEM });
  const factory = () => ITEM;
  const op =
    mode === 'get'
      ? (key: string) => cache.get({ key })
      : (key: string) => cache.getOrSet({ key, factory });
  return {
    op,
    sync: false,
    check: async (key) => JSON.stringify(await op(key)) === JSON.stringify(ITEM),
    close: async () => {
      await cache.disconnectAll();
      await client?.quit().catch(() => undefined);
    },
  };
}

/**
 * cache-manager 7 on Redis (Keyv), or in memory: its default in-memory store keeps and hands out
 * the caller's object (no copy); with `serialized`, a Keyv with its default JSON serializer, so
 * every read parses a copy (the same work as our `memory` tier).
 */
async function cacheManager(
  redisUrl: string | undefined,
  keys: readonly string[],
  serialized = false,
): Promise<LibraryContender> {
  const { createCache } = await import('cache-manager');
  let stores: unknown[] | undefined;
  if (redisUrl !== undefined) {
    const { createKeyv } = await import('@keyv/redis');
    stores = [createKeyv(redisUrl)];
  } else if (serialized) {
    const { Keyv } = await import('keyv');
    stores = [new Keyv()];
  }
  const cache = createCache(
    stores === undefined ? { ttl: TTL_MS } : { ttl: TTL_MS, stores: stores as never },
  );
  for (const key of keys) await cache.set(key, ITEM, TTL_MS);
  const op = (key: string) => cache.get(key);
  return {
    op,
    sync: false,
    check: async (key) => JSON.stringify(await op(key)) === JSON.stringify(ITEM),
    close: async () => {
      await cache.disconnect();
    },
  };
}

/** Every library-level contender, by id: a factory given the Redis URL and the keys to store. */
export const LIBRARY_CONTENDERS: Record<
  string,
  {
    label: string;
    create: (redisUrl: string, keys: readonly string[]) => Promise<LibraryContender>;
  }
> = {
  'lru-raw': {
    label: 'lru-cache 11, raw `get` (ceiling)',
    create: async (_url, keys) => {
      const lru = new LRUCache<string, object>({ max: 10_000 });
      for (const key of keys) lru.set(key, ITEM);
      return {
        op: (key) => lru.get(key),
        sync: true,
        check: async (key) => lru.get(key) === ITEM,
        close: async () => undefined,
      };
    },
  },
  'lru-promise': {
    label: 'lru-cache 11, `get` wrapped in a resolved promise (floor of an async get)',
    create: async (_url, keys) => {
      const lru = new LRUCache<string, object>({ max: 10_000 });
      for (const key of keys) lru.set(key, ITEM);
      return {
        op: (key) => Promise.resolve(lru.get(key)),
        sync: false,
        check: async (key) => (await lru.get(key)) === ITEM,
        close: async () => undefined,
      };
    },
  },
  'lru-ttl-floor': {
    label:
      'lru-cache 11, the least an async get with TTLs and namespaced keys does (floor): the stored key from a Map, `get`, the expiry against a reading of `Date.now()` shared as ours is (by the reads of a millisecond, 64 at most), a resolved promise',
    create: async (_url, keys) => {
      const lru = new LRUCache<string, { value: object; expiresAt: number }>({ max: 10_000 });
      const stored = new Map<string, string>();
      const expiresAt = Date.now() + TTL_MS;
      for (const key of keys) {
        const full = `bench:${key}`;
        full.charCodeAt(0); // flat, as our stored keys are
        stored.set(key, full);
        lru.set(full, { value: ITEM, expiresAt });
      }
      // The clock read as the cache reads it on the default clock (core/read-clock.ts): one
      // `Date.now()` shared by the reads of the next millisecond, 64 of them at most.
      let time = 0;
      let reads = 64;
      let timer: NodeJS.Timeout | undefined;
      const expire = () => {
        timer = undefined;
        reads = 64;
      };
      const now = () => {
        if (++reads <= 64) return time;
        reads = 1;
        time = Date.now();
        timer ??= setTimeout(expire, 1).unref();
        return time;
      };
      const op = (key: string) => {
        const entry = lru.get(stored.get(key)!);
        return Promise.resolve(
          entry !== undefined && entry.expiresAt > now() ? entry.value : undefined,
        );
      };
      return {
        op,
        sync: false,
        check: async (key) => (await op(key)) === ITEM,
        close: async () => clearTimeout(timer),
      };
    },
  },
  'cm-memory': {
    label: 'cache-manager 7, memory (Keyv; hands out the stored object, no copy)',
    create: (_url, keys) => cacheManager(undefined, keys),
  },
  'cm-memory-json': {
    label: "cache-manager 7, memory (Keyv with Keyv's JSON serializer: a copy per read)",
    create: (_url, keys) => cacheManager(undefined, keys, true),
  },
  'bento-memory': {
    label: 'bentocache 1.6, memory',
    create: (_url, keys) => bento(undefined, true, keys, 'get'),
  },
  'bento-l1l2': {
    label: 'bentocache 1.6, memory + Redis (L1 hit)',
    create: (url, keys) => bento(url, true, keys, 'get'),
  },
  'ours-memory': {
    label: 'nest-tiered-cache, `memory` L1',
    create: (_url, keys) => ours({ local: { backend: 'memory' } }, keys, 'get'),
  },
  'ours-nos': {
    label: 'nest-tiered-cache, `memory-no-serializer` L1',
    create: (_url, keys) => ours({ local: { backend: 'memory-no-serializer' } }, keys, 'get'),
  },
  'ours-l1l2': {
    label: 'nest-tiered-cache, memory L1 + Redis L2 (L1 hit)',
    create: (url, keys) =>
      ours({ local: { backend: 'memory' }, shared: { backend: 'redis', url } }, keys, 'get'),
  },
  // L2 throughput: Redis hits, many in flight.
  'ioredis-raw': {
    label: 'ioredis 6, raw `get`, auto-pipelining (ceiling)',
    create: async (url, keys) => {
      // Database 1: the other contenders write their own layouts to database 0 at the same time.
      const client = new Redis(`${url}/1`, { enableAutoPipelining: true });
      const payload = JSON.stringify(ITEM);
      for (const key of keys) await client.set(key, payload, 'PX', TTL_MS);
      const op = (key: string) => client.get(key);
      return {
        op,
        sync: false,
        check: async (key) => (await op(key)) === payload,
        close: async () => void (await client.quit()),
      };
    },
  },
  'ioredis-decode': {
    label:
      'ioredis 6, `getBuffer` + JSON.parse of the value (floor of a cache that stores encoded values)',
    create: async (url, keys) => {
      const client = new Redis(`${url}/2`, { enableAutoPipelining: true });
      const header = Buffer.alloc(20); // the size of our entry header, skipped unread
      const payload = Buffer.concat([header, Buffer.from(JSON.stringify(ITEM))]);
      for (const key of keys) await client.set(key, payload, 'PX', TTL_MS);
      const op = (key: string) =>
        client
          .getBuffer(key)
          .then((bytes) =>
            bytes === null ? undefined : (JSON.parse(bytes.toString('utf8', 20)) as unknown),
          );
      return {
        op,
        sync: false,
        check: async (key) => JSON.stringify(await op(key)) === JSON.stringify(ITEM),
        close: async () => void (await client.quit()),
      };
    },
  },
  'ours-redis': {
    label: 'nest-tiered-cache, Redis only, `getOrSet` hit',
    create: (url, keys) => ours({ shared: { backend: 'redis', url } }, keys, 'getOrSet'),
  },
  'ioredis-cluster-raw': {
    label: 'ioredis 6 Cluster, raw `get`, auto-pipelining (3 masters)',
    create: async (url, keys) => {
      const client = clusterClient(url);
      const payload = JSON.stringify(ITEM);
      for (const key of keys) await client.set(`raw:${key}`, payload, 'PX', TTL_MS);
      const op = (key: string) => client.get(`raw:${key}`);
      return {
        op,
        sync: false,
        check: async (key) => (await op(key)) === payload,
        close: async () => void (await client.quit()),
      };
    },
  },
  'ours-redis-cluster': {
    label: 'nest-tiered-cache, Redis Cluster only (3 masters), `getOrSet` hit',
    create: (url, keys) =>
      ours(
        { shared: { backend: 'redis', cluster: { nodes: clusterNodes(url) } } },
        keys,
        'getOrSet',
      ),
  },
  'ours-l2-after-l1': {
    label: 'nest-tiered-cache, memory L1 + Redis L2, L2 hit (L1 evicted)',
    create: (url, keys) =>
      ours(
        { local: { backend: 'memory', maxEntries: 1 }, shared: { backend: 'redis', url } },
        keys,
        'getOrSet',
      ),
  },
  'cm-redis': {
    label: 'cache-manager 7, Redis (Keyv), `get`',
    create: (url, keys) => cacheManager(url, keys),
  },
  'bento-redis': {
    label: 'bentocache 1.6, Redis only, `getOrSet` hit',
    create: (url, keys) => bento(url, false, keys, 'getOrSet'),
  },
};
