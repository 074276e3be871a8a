import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Cluster } from 'ioredis';
import { describeBackendContract, type BackendContractTarget } from 'nest-tiered-cache/testing';
import type { AtomicByteStoreBackend } from '../../src/serialization/byte-store-backend.js';
import type { TieredCache } from '../../src/core/tiered-cache.js';
import type { CacheModuleOptions } from '../../src/interfaces/cache-module-options.interface.js';
import { RedisClusterHarness } from '../redis-cluster.harness.js';
import { allKeys } from '../redis-inspect.js';
import { respCommand } from '../resp-command.js';
import { createTestCache, deferred } from '../test-cache.js';
import { waitFor } from '../wait-for.js';

/**
 * Issue 12, point 3: `redis-atomic` on a real Redis Cluster (3 masters, 3 replicas), given as
 * `cluster:` options or as `client: new Cluster(...)`: the backend contract, then what only a
 * cluster can break (an entry's keys in one slot, hash tags in user keys, every master scanned).
 */
let cluster: RedisClusterHarness;
/** A cluster client of the tests' own, for `client:` and to inspect the keys. */
let admin: Cluster;

beforeAll(async () => {
  cluster = await RedisClusterHarness.start();
  admin = new Cluster(cluster.startupNodes, {
    enableOfflineQueue: false,
    retryDelayOnFailover: 0,
    retryDelayOnClusterDown: 0,
    redisOptions: { maxRetriesPerRequest: 0 },
  });
  await new Promise<void>((resolve) => admin.once('ready', () => resolve()));
}, 60_000);
afterAll(async () => {
  admin?.disconnect();
  await cluster?.stop();
});

const targets: BackendContractTarget[] = [
  {
    name: 'redis-atomic on a Redis Cluster (cluster: nodes)',
    tiers: () => ({
      shared: { backend: 'redis-atomic', cluster: { nodes: cluster.startupNodes }, timeout: '2s' },
    }),
  },
  {
    name: 'memory + redis-atomic on a Redis Cluster (client: new Cluster)',
    tiers: () => ({
      local: { backend: 'memory' },
      shared: { backend: 'redis-atomic', client: admin, timeout: '2s' },
    }),
  },
];
for (const target of targets)
  describeBackendContract(target, { describe, it, beforeEach, afterEach });

describe('redis-atomic on a real Redis Cluster', () => {
  const engines: TieredCache[] = [];
  let sequence = 0;

  async function open(extra: Partial<CacheModuleOptions> = {}) {
    const made = await createTestCache({
      namespace: `cl${++sequence}`,
      shared: { backend: 'redis-atomic', cluster: { nodes: cluster.startupNodes }, timeout: '2s' },
      ...extra,
    });
    engines.push(made.engine);
    return made;
  }

  afterEach(async () => {
    for (const engine of engines.splice(0)) await engine.close();
  });

  const keySlot = async (key: string) =>
    Number(await respCommand(cluster.nodes[0]!.port, ['CLUSTER', 'KEYSLOT', key]));

  it('keeps every key of an entry in its hash slot, whatever braces the key holds', async () => {
    const { cache } = await open();
    const ns = cache.namespace;
    // Braces that Redis would read as a hash tag, one naming another entry, an unclosed one.
    const keys = ['plain', '{user}:1', 'x{plain}', `{${ns}:plain}`, 'open{', 'a}b{c', 'nul\0'];
    for (const key of keys) {
      await cache.set(key, key, { tags: ['t'] });
      await cache.getOrSet(`${key}:computed`, () => 'v', { atomic: 'at-least-once' });
    }
    for (const key of keys) expect(await cache.get(key)).toBe(key);
    const own = async () => (await allKeys(admin)).filter((key) => key.startsWith(`${ns}:`));
    const byName = new Map<string, number[]>();
    for (const key of await own()) {
      const name = key.includes('{') ? key.slice(0, key.indexOf('{')) : key;
      const slots = byName.get(name) ?? [];
      slots.push(await keySlot(key));
      byName.set(name, slots);
    }
    expect(byName.size).toBeGreaterThan(keys.length);
    for (const [name, slots] of byName) {
      expect({ name, slots: new Set(slots).size }).toEqual({ name, slots: 1 });
      expect(slots[0]).toBe(await keySlot(name));
    }
    // The keys are spread, not pinned to one slot by their braces.
    expect(new Set([...byName.values()].map((slots) => slots[0])).size).toBeGreaterThan(5);
    expect(await cache.deleteByTag('t')).toBe(keys.length);
    expect(await cache.deletePattern('*:computed')).toBe(keys.length);
    expect(await own()).toEqual([]);
  });

  it('refuses a value computed before an invalidation, even of an absent key', async () => {
    const { cache, engine } = await open();
    const backend = engine.shared!.backend as AtomicByteStoreBackend;
    const ns = cache.namespace;
    const entry = (value: unknown) => ({
      value,
      expiresAt: Date.now() + 60_000,
      staleUntil: Date.now() + 60_000,
      tags: [`${ns}:anything`],
    });
    const invalidations: Array<() => Promise<unknown>> = [
      () => cache.delete('k0'),
      () => cache.deletePattern('k*'),
      () => cache.deleteByTag('anything'),
      () => cache.clear(),
    ];
    for (const [i, invalidate] of invalidations.entries()) {
      await cache.set(`k${i}`, 'before', { tags: ['anything'] });
      const version = await backend.readVersion(`${ns}:k${i}`);
      await invalidate();
      expect(await backend.setIfVersion(`${ns}:k${i}`, entry('late'), 60_000, version)).toBe(false);
      expect(await cache.get(`k${i}`)).toBeUndefined();
      const fresh = await backend.readVersion(`${ns}:k${i}`);
      expect(await backend.setIfVersion(`${ns}:k${i}`, entry('after'), 60_000, fresh)).toBe(true);
      expect(await cache.get(`k${i}`)).toBe('after');
    }
    expect(cache.stats().errors).toBe(0);
  });

  it('runs an at-most-once origin once across two instances', async () => {
    const { cache: a } = await open();
    const { cache: b } = await createTestCache({
      namespace: a.namespace,
      shared: { backend: 'redis-atomic', cluster: { nodes: cluster.startupNodes }, timeout: '2s' },
    }).then((made) => (engines.push(made.engine), made));
    const gate = deferred<void>();
    let runs = 0;
    const origin = async () => {
      runs++;
      await gate.promise;
      return 'once';
    };
    const first = a.getOrSet('job', origin, { atomic: 'at-most-once', lease: '5s' });
    const lease = `${a.namespace}:job{${a.namespace}:job}lease`;
    await waitFor(async () => (await admin.exists(lease)) === 1, 'the lease is taken');
    const second = b.getOrSet('job', origin, { atomic: 'at-most-once', lease: '5s' });
    gate.resolve();
    expect(await Promise.all([first, second])).toEqual(['once', 'once']);
    expect(runs).toBe(1);
  });

  it('clear() and deletePattern reach every master, and clear() leaves nothing', async () => {
    const { cache } = await open();
    const { cache: other } = await open();
    await other.set('kept', 1, { tags: ['t'] });
    for (let i = 0; i < 60; i++) await cache.set(`item:${i}`, i, { tags: [`t${i % 3}`] });
    const masters = new Set<number>();
    for (let i = 0; i < 60; i++)
      masters.add(await cluster.masterPortForKey(`${cache.namespace}:item:${i}`));
    expect(masters.size).toBe(3);
    expect(await cache.deletePattern('item:1*')).toBe(11);
    await cache.getOrSet('computed', () => 1, { atomic: 'at-least-once', tags: ['t0'] });
    await cache.clear();
    const left = await allKeys(admin);
    expect(left.filter((key) => key.startsWith(`${cache.namespace}:`))).toEqual([]);
    expect(left.filter((key) => key.startsWith(`${other.namespace}:`)).length).toBeGreaterThan(1);
    expect(await other.get('kept')).toBe(1);
  });

  // Last: it kills a master (the cluster fails over to its replica).
  it("stores nothing, and blames no healthy master, while the inflight set's master is down", async () => {
    const { cache, engine } = await open();
    const ns = cache.namespace;
    const inflight = await cluster.masterPortForKey(`${ns}:{${ns}:}inflight`);
    const healthy = (await cluster.masterPorts()).find((port) => port !== inflight)!;
    const [kept, computed] = (await cluster.keysOn(healthy, 2, `${ns}:k`)).map((key) =>
      key.slice(ns.length + 1),
    );
    await cache.set(kept!, 'v');
    await cluster.kill(inflight);
    const origin = () => 'computed';
    expect(await cache.getOrSet(computed!, origin, { atomic: 'at-least-once' })).toBe('computed');
    expect(await cache.get(computed!)).toBeUndefined(); // not stored: not registered
    expect(await cache.get(kept!)).toBe('v'); // its master still served
    expect(engine.shared!.unavailableFor(`${ns}:${kept}`)).toBe(false);
    expect(cache.stats().errors).toBe(0);
    await cluster.waitForFailover(inflight);
    await waitFor(
      async () =>
        (await cache.getOrSet(computed!, origin, { atomic: 'at-least-once' })) === 'computed' &&
        (await cache.get(computed!)) === 'computed',
      'at-least-once values stored again after the failover',
      20_000,
      50,
    );
  });
});
