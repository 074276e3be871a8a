import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CacheService } from '../src/cache.service.js';
import type { TieredCache } from '../src/core/tiered-cache.js';
import type { CacheModuleOptions } from '../src/interfaces/cache-module-options.interface.js';
import { escapeGlob } from '../src/keys/glob.js';
import { encodeKeyPart } from '../src/keys/key-encoding.js';
import { createTestCache, deferred, FakeClock } from './test-cache.js';

/** What a contract target needs from the suite: a Redis URL and a fresh directory. */
export interface ContractContext {
  redisUrl: string;
  dir: string;
}

/** One backend or tier combination run through the contract. */
export interface ContractTarget {
  name: string;
  /** The tiers to build; called once per test. */
  tiers: (ctx: ContractContext) => Pick<CacheModuleOptions, 'local' | 'shared'>;
  /** 'copy': readers get equal copies; 'same': the stored object itself; 'none': nothing is ever stored (null). */
  values: 'copy' | 'same' | 'none';
}

let sequence = 0;

/**
 * The behavioural contract every backend and tier combination passes. `ctx` is filled by the
 * spec's `beforeAll` (the Redis harness) before the tests run.
 */
export function describeCacheContract(
  target: ContractTarget,
  ctx: Omit<ContractContext, 'dir'>,
): void {
  describe(`cache contract: ${target.name}`, () => {
    const clock = new FakeClock();
    let cache: CacheService;
    let engine: TieredCache;
    let view: (namespace: string) => CacheService;
    let dir: string;
    const stores = target.values !== 'none';

    beforeEach(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'ntc-contract-'));
      const namespace = `contract${++sequence}`;
      ({ cache, engine, view } = await createTestCache({
        namespace,
        ttl: 60,
        clock: clock.read,
        ...target.tiers({ redisUrl: ctx.redisUrl, dir }),
      }));
    });

    afterEach(async () => {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('misses an absent key', async () => {
      expect(await cache.get('absent')).toBeUndefined();
      expect(await cache.has('absent')).toBe(false);
      expect(await cache.ttl('absent')).toBeUndefined();
    });

    it('round-trips rich values', async () => {
      const value = {
        when: new Date('2026-01-02T03:04:05.678Z'),
        map: new Map<string, number>([['a', 1]]),
        set: new Set(['x', 'y']),
        big: 12345678901234567890n,
        bytes: Buffer.from('héllo'),
        floats: new Float64Array([1.5, -2]),
        nested: { list: [1, 'two', null, { three: 3 }], empty: {} },
        nothing: null,
      };
      await cache.set('rich', value);
      await cache.set('plain', { id: 1, name: 'plain json', tags: ['a'] });
      await cache.set('null', null);
      await cache.set('text', 'just text');
      if (!stores) {
        expect(await cache.get('rich')).toBeUndefined();
        return;
      }
      expect(await cache.get('rich')).toEqual(value);
      expect(await cache.get('plain')).toEqual({ id: 1, name: 'plain json', tags: ['a'] });
      expect(await cache.get('null')).toBeNull();
      expect(await cache.get('text')).toBe('just text');
    });

    it(
      target.values === 'same'
        ? 'returns the very object stored'
        : 'never shares a mutable object with callers',
      async () => {
        const value = { count: 1 };
        await cache.set('obj', value);
        value.count = 2;
        const first = await cache.get<{ count: number }>('obj');
        if (target.values === 'none') return expect(first).toBeUndefined();
        if (target.values === 'same') return expect(first).toBe(value);
        expect(first).toEqual({ count: 1 });
        first!.count = 3;
        expect(await cache.get('obj')).toEqual({ count: 1 });
      },
    );

    it('expires entries after their TTL, on the cache clock', async () => {
      await cache.set('short', 'v', { ttl: '10s' });
      clock.advance(9_000);
      expect(await cache.get('short')).toBe(stores ? 'v' : undefined);
      if (stores) expect(await cache.ttl('short')).toBeCloseTo(1, 3);
      clock.advance(1_001);
      expect(await cache.get('short')).toBeUndefined();
      expect(await cache.has('short')).toBe(false);
    });

    it('overwrites an entry', async () => {
      await cache.set('k', 'one');
      await cache.set('k', 'two', { ttl: '1h' });
      expect(await cache.get('k')).toBe(stores ? 'two' : undefined);
      if (stores) expect(await cache.ttl('k')).toBeCloseTo(3600, 0);
    });

    it('deletes keys', async () => {
      await cache.mset([
        ['a', 1],
        ['b', 2],
        ['c', 3],
      ]);
      await cache.delete('a', 'b', 'never-set');
      expect(await cache.mget(['a', 'b', 'c'])).toEqual([
        undefined,
        undefined,
        stores ? 3 : undefined,
      ]);
    });

    it('deletes by pattern, and a "*" inside a value never widens it', async () => {
      await cache.mset([
        ['user:1', 'u1'],
        ['user:2', 'u2'],
        ['user:*', 'literal star'],
        ['post:1', 'p1'],
      ]);
      const star = encodeKeyPart('*');
      await cache.mset([
        [`profile:${star}`, 'star profile'],
        ['profile:7', 'p7'],
      ]);
      expect(await cache.deletePattern(`user:${escapeGlob('*')}`)).toBe(stores ? 1 : 0);
      expect(await cache.mget(['user:1', 'user:2', 'user:*'])).toEqual(
        stores ? ['u1', 'u2', undefined] : [undefined, undefined, undefined],
      );
      expect(await cache.deletePattern(`profile:${star}`)).toBe(stores ? 1 : 0);
      expect(await cache.get('profile:7')).toBe(stores ? 'p7' : undefined);
      expect(await cache.deletePattern('user:*')).toBe(stores ? 2 : 0);
      expect(await cache.get('post:1')).toBe(stores ? 'p1' : undefined);
      expect(await cache.deletePattern('u?er:[0-9]')).toBe(0);
    });

    it('deletes by tag, counting distinct keys', async () => {
      await cache.set('a', 'A', { tags: ['users'] });
      await cache.set('b', 'B', { tags: ['users', 'admins'] });
      await cache.set('c', 'C', { tags: ['admins'] });
      await cache.set('d', 'D');
      expect(await cache.deleteByTag('users', 'admins')).toBe(stores ? 3 : 0);
      expect(await cache.mget(['a', 'b', 'c', 'd'])).toEqual([
        undefined,
        undefined,
        undefined,
        stores ? 'D' : undefined,
      ]);
      await cache.set('e', 'E', { tags: ['users'] });
      expect(await cache.deleteByTag('users')).toBe(stores ? 1 : 0);
      expect(await cache.deleteByTag('users')).toBe(0);
    });

    it('gets and sets many keys at once', async () => {
      await cache.mset([
        ['m1', { n: 1 }],
        ['m2', [2]],
        ['m3', 'three', { ttl: 1 }],
      ]);
      clock.advance(1_500);
      expect(await cache.mget(['m1', 'm2', 'm3', 'm4'])).toEqual(
        stores
          ? [{ n: 1 }, [2], undefined, undefined]
          : [undefined, undefined, undefined, undefined],
      );
    });

    it('merges a partial object, changing only the given fields', async () => {
      await cache.set('guild', { audit: 1, modLog: 2, jail: 3 }, { ttl: 100, tags: ['guilds'] });
      clock.advance(40_000);
      await cache.merge('guild', { audit: 10, jail: undefined, extra: 'x' });
      await cache.merge('absent', { audit: 1 });
      expect(await cache.get('absent')).toBeUndefined();
      if (!stores) return expect(await cache.get('guild')).toBeUndefined();
      expect(await cache.get('guild')).toEqual({ audit: 10, modLog: 2, jail: 3, extra: 'x' });
      expect(await cache.ttl('guild')).toBeCloseTo(60, 3);
      expect(await cache.deleteByTag('guilds')).toBe(1);
    });

    it('clears its own namespace and nothing else', async () => {
      const other = view(`${cache.namespace}x`);
      await cache.set('k', 1, { tags: ['t'] });
      await other.set('k', 2, { tags: ['t'] });
      await cache.clear();
      expect(await cache.get('k')).toBeUndefined();
      expect(await other.get('k')).toBe(stores ? 2 : undefined);
      expect(await other.deleteByTag('t')).toBe(stores ? 1 : 0);
    });

    it('stores large values', async () => {
      const big = 'x'.repeat(2 * 1024 * 1024) + '✓';
      const bytes = Buffer.alloc(512 * 1024, 7);
      await cache.set('big', big);
      await cache.set('bytes', bytes);
      expect(await cache.get('big')).toBe(stores ? big : undefined);
      // Buffer#equals, not toEqual: Jest compares a 512 KiB Buffer byte by byte (seconds a backend).
      const got = await cache.get<Buffer>('bytes');
      if (stores) expect(Buffer.isBuffer(got) && got.equals(bytes)).toBe(true);
      else expect(got).toBeUndefined();
    });

    it('handles unicode keys and tags', async () => {
      await cache.set('ключ:🔑:値', 'unicode', { tags: ['тег'] });
      expect(await cache.get('ключ:🔑:値')).toBe(stores ? 'unicode' : undefined);
      expect(await cache.deletePattern('ключ:*')).toBe(stores ? 1 : 0);
      await cache.set('ключ:🔑:値', 'again', { tags: ['тег'] });
      expect(await cache.deleteByTag('тег')).toBe(stores ? 1 : 0);
    });

    it('runs the factory once for concurrent getOrSet of one key', async () => {
      const gate = deferred<void>();
      let calls = 0;
      const factory = async () => {
        calls++;
        await gate.promise;
        return { computed: calls };
      };
      const all = Promise.all(Array.from({ length: 100 }, () => cache.getOrSet('hot', factory)));
      await new Promise((resolve) => setImmediate(resolve));
      gate.resolve();
      const results = await all;
      expect(calls).toBe(1);
      expect(results.every((r) => r.computed === 1)).toBe(true);
      expect(await cache.getOrSet('hot', factory)).toEqual({ computed: stores ? 1 : 2 });
      expect(calls).toBe(stores ? 1 : 2);
    });

    it('serves a stale value within grace when the origin fails, then refreshes', async () => {
      await cache.getOrSet('g', () => 'v1', { ttl: 10, grace: '1m' });
      clock.advance(11_000);
      const failing = () => Promise.reject(new Error('database down'));
      if (!stores)
        return expect(cache.getOrSet('g', failing, { ttl: 10, grace: '1m' })).rejects.toThrow(
          'database down',
        );
      expect(await cache.get('g')).toBeUndefined();
      expect(await cache.getOrSet('g', failing, { ttl: 10, grace: '1m' })).toBe('v1');
      expect(cache.stats().stale).toBe(1);
      expect(await cache.getOrSet('g', () => 'v2', { ttl: 10, grace: '1m' })).toBe('v2');
      clock.advance(75_000);
      await expect(cache.getOrSet('g', failing, { ttl: 10, grace: '1m' })).rejects.toThrow(
        'database down',
      );
    });

    it('counts hits and misses', async () => {
      await cache.get('nope');
      await cache.set('yes', 1);
      await cache.get('yes');
      const stats = cache.stats();
      expect(stats.hits).toBe(stores ? 1 : 0);
      expect(stats.misses).toBe(stores ? 1 : 2);
      expect(stats.errors).toBe(0);
      expect(stats.hitRate).toBeCloseTo(stores ? 0.5 : 0, 5);
    });

    it('does not store undefined', async () => {
      await cache.set('u', undefined);
      expect(await cache.has('u')).toBe(false);
      expect(await cache.getOrSet('u2', () => undefined)).toBeUndefined();
      expect(await cache.has('u2')).toBe(false);
    });
  });
}
