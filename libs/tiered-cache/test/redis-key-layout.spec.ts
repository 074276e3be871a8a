import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import type { CacheService } from '../src/cache.service.js';
import type { TieredCache } from '../src/core/tiered-cache.js';
import type { CacheModuleOptions } from '../src/interfaces/cache-module-options.interface.js';
import { allKeys } from './redis-inspect.js';
import { RedisServerHarness } from './redis-server.harness.js';
import { createTestCache, RecordingLogger } from './test-cache.js';
import { waitFor } from './wait-for.js';

/** The commands the cache needs, as `ACL SETUSER` grants them (README, "Redis keys"). */
const REDIS_ACL_COMMANDS = [
  'get',
  'mget',
  'set',
  'unlink',
  'pexpireat',
  'scan',
  'zscan',
  'zscore',
  'zrem',
  'evalsha',
  'eval',
  'script|load',
  'ping',
  'publish',
  'subscribe',
  'client|id',
  'client|tracking',
  'client|trackinginfo',
  'info',
  'del',
  'time',
  'zadd',
  'zrange',
  'zremrangebyscore',
  'zcard',
  'pexpire',
];

async function createTestCacheWithLogger(options: CacheModuleOptions) {
  const logger = new RecordingLogger();
  return { ...(await createTestCache(options, logger)), logger };
}

/**
 * Issue 12, point 1: every key the Redis backends write starts with `<namespace>:`, bookkeeping
 * expires with what it guards, one namespace's invalidations leave another's alone, a Redis ACL
 * user limited to `~<namespace>:*` can do everything, and `clear()` leaves nothing behind.
 */
describe('Redis key layout: every key under the namespace', () => {
  let redis: RedisServerHarness;
  let admin: Redis;
  const engines: TieredCache[] = [];

  async function open(options: CacheModuleOptions): Promise<CacheService> {
    const { cache, engine } = await createTestCache(options);
    engines.push(engine);
    return cache;
  }

  beforeAll(async () => {
    redis = await RedisServerHarness.start();
    admin = new Redis(redis.url, { lazyConnect: true });
    await admin.connect();
  });
  afterEach(async () => {
    for (const engine of engines.splice(0)) await engine.close();
    await admin.flushall();
  });
  afterAll(async () => {
    admin.disconnect();
    await redis.stop();
  });

  /** Exercises every kind of key: entries, tags, versions, leases (listed while held). */
  async function everyOperation(cache: CacheService): Promise<string[]> {
    const seen = new Set<string>();
    const look = async () => {
      for (const key of await allKeys(admin)) seen.add(key);
    };
    await cache.set('user:1', { id: 1 }, { tags: ['users', 'team:a'] });
    await cache.set('user:2', { id: 2 }, { tags: ['users'] });
    await cache.set('plain', 1);
    await look();
    expect(
      await cache.getOrSet('computed:1', async () => (await look(), 'v1'), {
        atomic: 'at-least-once',
        tags: ['computed'],
      }),
    ).toBe('v1');
    expect(
      await cache.getOrSet('computed:2', async () => (await look(), 'v2'), {
        atomic: 'at-most-once',
        tags: ['computed'],
      }),
    ).toBe('v2');
    await look();
    await cache.delete('user:2', 'absent:1', 'absent:2');
    await look();
    expect(await cache.deleteByTag('team:a')).toBe(1);
    expect(await cache.deletePattern('computed:*')).toBe(2);
    await look();
    return [...seen].sort();
  }

  it('writes entries, tag sets, versions and leases under <namespace>:', async () => {
    const cache = await open({
      namespace: 'shop:v1',
      shared: { backend: 'redis-atomic', url: redis.url, timeout: '2s' },
    });
    const keys = await everyOperation(cache);
    expect(keys.length).toBeGreaterThan(5);
    expect(keys.filter((key) => !key.startsWith('shop:v1:'))).toEqual([]);
  });

  it('leaves no key behind after deleting 5,000 absent keys', async () => {
    const cache = await open({
      namespace: 'absent',
      shared: { backend: 'redis-atomic', url: redis.url, timeout: '5s' },
    });
    for (let i = 0; i < 5_000; i += 500)
      await cache.delete(...Array.from({ length: 500 }, (_, j) => `gone:${i + j}`));
    expect(await admin.dbsize()).toBe(0);
  });

  it("stores at-least-once values despite another namespace's invalidations", async () => {
    const mine = await open({
      namespace: 'mine',
      shared: { backend: 'redis-atomic', url: redis.url, timeout: '2s' },
    });
    const theirs = await open({
      namespace: 'theirs',
      shared: { backend: 'redis-atomic', url: redis.url, timeout: '2s' },
    });
    await theirs.set('x', 1, { tags: ['t'] });
    const origin = async (step: () => Promise<unknown>) => {
      await step();
      return 'computed';
    };
    const steps = [
      () => theirs.deleteByTag('t'),
      () => theirs.deletePattern('*'),
      () => theirs.clear(),
      () => theirs.delete('k0', 'k1', 'k2'),
    ];
    for (const [i, step] of steps.entries()) {
      expect(await mine.getOrSet(`k${i}`, () => origin(step), { atomic: 'at-least-once' })).toBe(
        'computed',
      );
      expect(await mine.get(`k${i}`)).toBe('computed');
    }
    expect(mine.stats().errors).toBe(0);
  });

  it("still refuses an at-least-once value computed before its own namespace's invalidation", async () => {
    const { cache, engine, view } = await createTestCache({
      namespace: 'own',
      shared: { backend: 'redis-atomic', url: redis.url, timeout: '2s' },
    });
    engines.push(engine);
    const named = view('own:named'); // a named cache: its namespace is under the root's
    const cases: Array<[CacheService, () => Promise<unknown>]> = [
      [cache, () => cache.deleteByTag('anything')],
      [cache, () => cache.deletePattern('k*')],
      [cache, () => cache.clear()],
      [cache, () => cache.delete('k3')],
      [named, () => cache.clear()],
      [named, () => cache.deletePattern('named:*')],
      [cache, () => named.deleteByTag('anything')],
    ];
    for (const [i, [target, invalidate]] of cases.entries()) {
      const value = await target.getOrSet(
        `k${i}`,
        async () => {
          await invalidate();
          return 'computed before the invalidation';
        },
        { atomic: 'at-least-once' },
      );
      expect(value).toBe('computed before the invalidation');
      expect(await target.get(`k${i}`)).toBeUndefined();
    }
  });

  it('clear() removes every key the namespace wrote, and nothing of another namespace', async () => {
    const cache = await open({
      namespace: 'app',
      shared: { backend: 'redis-atomic', url: redis.url, timeout: '2s' },
    });
    const other = await open({
      namespace: 'application',
      shared: { backend: 'redis-atomic', url: redis.url, timeout: '2s' },
    });
    await other.set('kept', 1, { tags: ['users'] });
    await everyOperation(cache);
    await cache.delete(...Array.from({ length: 100 }, (_, i) => `absent:${i}`));
    expect((await allKeys(admin)).some((key) => key.startsWith('app:'))).toBe(true);
    await cache.clear();
    const left = await allKeys(admin);
    expect(left.filter((key) => !key.startsWith('application:'))).toEqual([]);
    expect(await other.get('kept')).toBe(1);
    expect(await other.deleteByTag('users')).toBe(1);
  });

  it('works for a Redis ACL user limited to ~<namespace>:* and the bus channels', async () => {
    await admin.call(
      'ACL',
      'SETUSER',
      'cache',
      'reset',
      'on',
      '>secret',
      '~acl:*',
      '&ntc:bus:acl',
      '&__redis__:invalidate',
      ...REDIS_ACL_COMMANDS.map((command) => `+${command}`),
    );
    await admin.call('ACL', 'LOG', 'RESET');
    await admin.script('FLUSH'); // so that the cache loads its scripts as that user
    const url = `redis://cache:secret@127.0.0.1:${redis.port}`;
    const options: CacheModuleOptions = {
      namespace: 'acl',
      local: { backend: 'memory' },
      shared: { backend: 'redis-atomic', url, timeout: '2s' },
    };
    const { cache: a, engine: engineA, logger } = await createTestCacheWithLogger(options);
    engines.push(engineA);
    const { cache: b, engine: engineB } = await createTestCacheWithLogger(options);
    engines.push(engineB);
    await everyOperation(a);
    await a.set('shared', 'v1', { tags: ['t'] });
    expect(await b.get('shared')).toBe('v1'); // now in B's L1
    await a.deleteByTag('t');
    await waitFor(async () => (await b.get('shared')) === undefined, "B's L1 evicted");
    await a.clear();
    expect(await allKeys(admin)).toEqual([]);
    expect(engineA.busStats()?.mode).toBe('tracking');
    expect(a.stats().errors + b.stats().errors).toBe(0);
    expect(logger.lines.filter((line) => line.level !== 'log')).toEqual([]);
    for (const engine of engines.splice(0)) await engine.close();
    expect(await admin.call('ACL', 'LOG')).toEqual([]);
    // The README gives the same list.
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const line = readme.split('\n').find((l) => l.startsWith('ACL SETUSER cache on'));
    const granted = line!.split(' ').filter((word) => word.startsWith('+'));
    expect(granted.sort()).toEqual(REDIS_ACL_COMMANDS.map((command) => `+${command}`).sort());
  });

  it('keeps keys apart from the bookkeeping: braces and NUL in keys are escaped, patterns never reach it', async () => {
    const cache = await open({
      namespace: 'f',
      shared: { backend: 'redis-atomic', url: redis.url, timeout: '2s' },
    });
    await cache.set('x', 'entry', { tags: ['t'] });
    // Keys spelled like x's bookkeeping (raw or escaped), or holding braces and NUL.
    const lookalikes = [
      'x{f:x}tags',
      'x{f:x}ver',
      't{f:t}tagged',
      '{x}',
      'a}b',
      'nul\0(',
      'x\0(f:x\0)tags',
    ];
    for (const key of lookalikes) await cache.set(key, key);
    for (const key of lookalikes) expect(await cache.get(key)).toBe(key);
    expect(await cache.get('x')).toBe('entry');
    expect(await cache.deletePattern('*{*')).toBe(4);
    expect(await cache.deletePattern('*\0*')).toBe(2);
    expect(await cache.deletePattern('[a]?b')).toBe(1);
    expect(await cache.get('x')).toBe('entry');
    expect(await cache.deleteByTag('t')).toBe(1);
    expect(await allKeys(admin)).toEqual([]);
  });

  it("evicts another instance's L1 copy of a key holding braces (tracking reports it escaped)", async () => {
    const options: CacheModuleOptions = {
      namespace: 'braces',
      local: { backend: 'memory' },
      shared: { backend: 'redis', url: redis.url, timeout: '2s' },
    };
    const a = await open(options);
    const b = await open(options);
    await a.set('{user}:1', 'v1');
    expect(await b.get('{user}:1')).toBe('v1'); // now in B's L1
    await a.set('{user}:1', 'v2');
    await waitFor(async () => (await b.get('{user}:1')) === 'v2', "B's L1 evicted");
  });
});
