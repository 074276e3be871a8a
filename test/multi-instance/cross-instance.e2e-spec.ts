import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CacheModuleOptions } from 'nest-tiered-cache';
import { RedisServerHarness } from '../../libs/tiered-cache/test/redis-server.harness.js';
import { waitFor } from '../../libs/tiered-cache/test/wait-for.js';
import { type CacheWorker, closeWorkers, startWorkers } from './cache-worker.js';

/**
 * Two real processes (forked Nest apps) on one real redis-server: a change made on A is seen by
 * B's very next read, begun after A's call resolved (no polling, no waiting for the bus). API.md,
 * "Across instances": no process serves a value older than the last invalidation that completed
 * before its read began. Each case runs several rounds, each on its own keys, with the bus as it
 * comes (Redis tracking where the server has it), with the bus over explicit pub/sub messages, and
 * with Redis alone (the control: nothing to evict).
 */
const ROUNDS = 10;

type Change = {
  /** What A does; `key` was set to `old` with tag `tag` just before. */
  run: (a: CacheWorker, round: { key: string; tag: string; prefix: string }) => Promise<unknown>;
  /** What B must read afterwards (undefined: a miss). */
  expected: string | undefined;
};

const CHANGES: Array<[string, Change]> = [
  ['delete', { run: (a, { key }) => a.request({ op: 'delete', key }), expected: undefined }],
  [
    'deletePattern',
    {
      run: (a, { prefix }) => a.request({ op: 'deletePattern', pattern: `${prefix}:*` }),
      expected: undefined,
    },
  ],
  [
    'deleteByTag',
    { run: (a, { tag }) => a.request({ op: 'deleteByTag', tags: [tag] }), expected: undefined },
  ],
  ['clear', { run: (a) => a.request({ op: 'clear' }), expected: undefined }],
  [
    'set',
    { run: (a, { key }) => a.request({ op: 'set', key, value: 'new', ttl: 60 }), expected: 'new' },
  ],
];

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
    const seen: Array<string | undefined> = [];
    for (let n = 0; n < ROUNDS; n++) {
      const round = { prefix: `${name}-${n}`, key: `${name}-${n}:item`, tag: `${name}-${n}` };
      await a.request({ op: 'set', key: round.key, value: 'old', tags: [round.tag], ttl: 60 });
      // B reads it once, so a memory L1 holds it.
      expect((await b.request({ op: 'get', key: round.key })).result).toEqual({
        found: true,
        value: 'old',
      });
      // A's own read after its change is the control: one process is coherent.
      await change.run(a, round);
      const afterOnB = (await b.request({ op: 'get', key: round.key })).result;
      const afterOnA = (await a.request({ op: 'get', key: round.key })).result;
      expect(afterOnA.value).toBe(change.expected);
      seen.push(afterOnB.value);
    }
    // One entry per round: what B read right after A's change resolved.
    expect(seen).toEqual(Array.from({ length: ROUNDS }, () => change.expected));
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
