import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CacheModuleOptions } from 'nest-tiered-cache';
import { RedisServerHarness } from '../../libs/tiered-cache/test/redis-server.harness.js';
import { waitFor } from '../../libs/tiered-cache/test/wait-for.js';
import { type CacheWorker, closeWorkers, startWorkers } from './cache-worker.js';
import { CHANGES, readsAfterChanges, ROUNDS } from './cross-instance-changes.js';

/**
 * Two real processes (forked Nest apps) on one real redis-server: a change made on A is seen by
 * B's very next read, begun after A's call resolved (no polling, no waiting for the bus). API.md,
 * "Across instances": no process serves a value older than the last invalidation that completed
 * before its read began. Each case runs several rounds, each on its own keys, with the bus as it
 * comes (Redis tracking where the server has it), with the bus over explicit pub/sub messages, and
 * with Redis alone (the control: nothing to evict).
 */
const SETUPS: Array<[string, (url: string) => CacheModuleOptions]> = [
  [
    'memory L1 + Redis L2',
    (url) => ({
      namespace: 'xi',
      ttl: 60,
      local: { backend: 'memory', ttl: '1m' },
      shared: { backend: 'redis', url },
    }),
  ],
  [
    // The bus's fallback where Redis has no client tracking (before 6, proxies): explicit messages.
    'memory L1 + Redis L2, bus over pub/sub (tracking: false)',
    (url) => ({
      namespace: 'xi',
      ttl: 60,
      local: { backend: 'memory', ttl: '1m' },
      shared: { backend: 'redis', url },
      bus: { tracking: false },
    }),
  ],
  // The control: with no L1 there is nothing to evict, so this holds on any version.
  ['Redis only', (url) => ({ namespace: 'xi', ttl: 60, shared: { backend: 'redis', url } })],
];

describe.each(SETUPS)('across two processes, %s', (_setup, options) => {
  let redis: RedisServerHarness;
  let a: CacheWorker;
  let b: CacheWorker;

  beforeAll(async () => {
    redis = await RedisServerHarness.start();
    const cache = options(redis.url);
    const http = { dbUrl: redis.url };
    [a, b] = await startWorkers([
      { name: 'A', cache, http },
      { name: 'B', cache, http },
    ]);
  });
  afterAll(async () => {
    try {
      await closeWorkers([a, b].filter((w) => w !== undefined));
    } finally {
      await redis.stop();
    }
  });

  it.each(CHANGES)("%s on A: B's next read never returns the old value", async (name, change) => {
    // One entry per round: what B read right after A's change resolved.
    expect(await readsAfterChanges(a, b, name, change)).toEqual(
      Array.from({ length: ROUNDS }, () => change.expected),
    );
  });

  it("a route PUT with @InvalidateCache on A: B's next GET serves the new body", async () => {
    const url = (worker: CacheWorker, id: string) => `http://127.0.0.1:${worker.port}/items/${id}`;
    const put = (worker: CacheWorker, id: string, value: string) =>
      fetch(url(worker, id), {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ value }),
      }).then((res) => res.json());
    const get = async (worker: CacheWorker, id: string) => {
      const res = await fetch(url(worker, id));
      return { cache: res.headers.get('x-cache'), body: (await res.json()) as unknown };
    };
    const served: unknown[] = [];
    for (let n = 0; n < ROUNDS; n++) {
      const id = `http-${n}`;
      await put(a, id, 'old');
      expect(await get(b, id)).toEqual({ cache: 'MISS', body: { id, value: 'old' } });
      // B serves it from its cache (a store may be skipped once if a change raced it: then the
      // next GET stores it).
      await waitFor(
        async () => (await get(b, id)).cache === 'HIT',
        `B caching /items/${id}`,
        2_000,
        0,
      );
      await put(a, id, 'new');
      served.push((await get(b, id)).body);
    }
    expect(served).toEqual(
      Array.from({ length: ROUNDS }, (_, n) => ({ id: `http-${n}`, value: 'new' })),
    );
  });
});
