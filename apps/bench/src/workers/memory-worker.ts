/**
 * Heap cost of one contender, in a fresh process run with --expose-gc:
 * `node --expose-gc memory-worker.js <contender> <entries>`. Answers `measure` with bytes per entry:
 * the growth of the V8 heap plus ArrayBuffers (where serialized entries live) after storing
 * `entries` values of ~200 B JSON under distinct keys, with full GCs before and after.
 */
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { LRUCache } from 'lru-cache';
import { CacheModule, CacheService, type TierOptions } from 'nest-tiered-cache';
import { useIoredis5ForBentocache } from '../infra/ioredis5.js';
import { serve } from '../infra/processes.js';

useIoredis5ForBentocache();

const TTL_MS = 3_600_000;
const [id, entriesArg = '100000'] = process.argv.slice(2) as [string, string?];
const entries = Number(entriesArg);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('the memory worker needs --expose-gc');

/** A value of about 200 bytes of JSON. */
export function sampleValue(i: number): Record<string, unknown> {
  return {
    id: i,
    sku: `SKU-${String(i).padStart(8, '0')}`,
    name: `Product number ${i}`,
    description: 'A small JSON document, about two hundred bytes long, as cached.',
    price: (i % 100) + 0.99,
    tags: ['bench', `group-${i % 10}`],
    inStock: i % 3 !== 0,
  };
}

type Setter = (key: string, value: unknown) => unknown;

async function ours(local: TierOptions, readBack = false): Promise<Setter> {
  @Module({ imports: [CacheModule.forRoot({ namespace: 'bench', ttl: '1h', local })] })
  class MemoryBenchModule {}
  const app = await NestFactory.createApplicationContext(MemoryBenchModule, {
    logger: ['error', 'warn'],
  });
  const cache = app.get(CacheService);
  if (!readBack) return (key, value) => cache.set(key, value);
  // The `memory` tier keeps a JSON value as text until its first read, then as a private tree.
  return async (key, value) => {
    await cache.set(key, value);
    await cache.get(key);
  };
}

const SETTERS: Record<string, () => Promise<Setter>> = {
  'lru-raw': async () => {
    const lru = new LRUCache<string, object>({ max: entries });
    return (key, value) => lru.set(key, value as object);
  },
  'ours-nos': () => ours({ backend: 'memory-no-serializer', maxEntries: entries }),
  'ours-memory': () => ours({ backend: 'memory', maxEntries: entries }),
  'ours-memory-read': () => ours({ backend: 'memory', maxEntries: entries }, true),
  'cm-memory': async () => {
    const { createCache } = await import('cache-manager');
    const cache = createCache({ ttl: TTL_MS });
    return (key, value) => cache.set(key, value, TTL_MS);
  },
  'bento-memory': async () => {
    const { BentoCache, bentostore } = await import('bentocache');
    const { memoryDriver } = await import('bentocache/drivers/memory');
    const cache = new BentoCache({
      default: 'bench',
      stores: {
        bench: bentostore().useL1Layer(
          memoryDriver({ maxItems: entries, maxSize: 2 * 1024 * 1024 * 1024 }),
        ),
      },
      ttl: TTL_MS,
    });
    return (key, value) => cache.set({ key, value });
  },
};

function used(): number {
  for (let i = 0; i < 4; i++) gc!();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

const create = SETTERS[id];
if (create === undefined) throw new Error(`unknown memory contender ${id}`);
const set = await create();
// No warm-up write: structures a store allocates on its first write (lru-cache's TTL arrays, for
// one) are part of its cost. What every store allocates when it is created is left out for all.

serve({
  measure: async () => {
    const before = used();
    for (let i = 0; i < entries; i++) await set(`item:${i}`, sampleValue(i));
    const after = used();
    return (after - before) / entries;
  },
});
