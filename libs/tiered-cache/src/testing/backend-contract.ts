import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CacheService } from '../cache.service.js';
import type { CacheModuleOptions } from '../interfaces/cache-module-options.interface.js';
import { escapeGlob } from '../keys/glob.js';
import { encodeKeyPart } from '../keys/key-encoding.js';
import { assertClose, assertEqual, assertRejects, assertSame } from './contract-assert.js';
import {
  bootContractApp,
  gate,
  ManualClock,
  resolveRunner,
  SILENT_LOGGER,
  type ContractApp,
  type ContractTestRunner,
} from './contract-harness.js';

/** What a target's `tiers` gets for each test. */
export interface BackendContractContext {
  /** A fresh, empty directory, removed after the test (for backends that keep files). */
  readonly dir: string;
}

/** One backend, or tier combination, to run through the contract. */
export interface BackendContractTarget {
  /** Shown in the test names: `backend contract: <name>`. */
  readonly name: string;
  /** The tiers to test, built afresh for every test (`{ shared: { backend: MyBackend } }`...). */
  readonly tiers: (context: BackendContractContext) => Pick<CacheModuleOptions, 'local' | 'shared'>;
  /**
   * What readers get back: `'copy'` (default) equal copies, never the stored object; `'same'` the
   * very object stored (like `memory-no-serializer`); `'none'` nothing is ever stored (like `null`).
   */
  readonly values?: 'copy' | 'same' | 'none';
}

let sequence = 0;

/**
 * Registers the behavioural contract every backend passes (the built-in ones run it too): misses,
 * rich values, TTLs on the cache's clock, overwrites, deletes by key, pattern and tag, bulk reads
 * and writes, merge, clear of one namespace only, large values, unicode keys, single-flight,
 * stale-on-error and stats. Each test boots a real Nest application context with
 * `CacheModule.forRoot` and the target's tiers, and closes it afterwards.
 *
 * Assertions use `node:assert` errors, so it runs under Jest, Vitest, Mocha or `node:test`: pass
 * the runner's `describe`, `it`, `beforeEach` and `afterEach`, or let it find them as globals.
 */
export function describeBackendContract(
  target: BackendContractTarget,
  runner?: ContractTestRunner,
): void {
  const { describe, it, beforeEach, afterEach } = resolveRunner(runner);
  const values = target.values ?? 'copy';
  const stores = values !== 'none';
  /** What a read returns: `stored` when the target keeps entries, else undefined. */
  const kept = <T>(stored: T): T | undefined => (stores ? stored : undefined);

  describe(`backend contract: ${target.name}`, () => {
    const clock = new ManualClock();
    let running: ContractApp | undefined;
    let cache: CacheService;
    let dir: string;

    beforeEach(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'ntc-contract-'));
      const { local, shared } = target.tiers({ dir });
      running = await bootContractApp({
        namespace: `contract${++sequence}`,
        ttl: 60,
        clock: clock.read,
        logger: SILENT_LOGGER,
        ...(local === undefined ? {} : { local }),
        ...(shared === undefined ? {} : { shared }),
      });
      cache = running.cache;
    });

    afterEach(async () => {
      await running?.app.close();
      running = undefined;
      rmSync(dir, { recursive: true, force: true });
    });

    it('misses an absent key', async () => {
      assertEqual(await cache.get('absent'), undefined, 'get');
      assertEqual(await cache.has('absent'), false, 'has');
      assertEqual(await cache.ttl('absent'), undefined, 'ttl');
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
      assertEqual(await cache.get('rich'), kept(value), 'rich value');
      assertEqual(
        await cache.get('plain'),
        kept({ id: 1, name: 'plain json', tags: ['a'] }),
        'json',
      );
      assertSame(await cache.get('null'), kept(null), 'null');
      assertSame(await cache.get('text'), kept('just text'), 'string');
    });

    const sharing = {
      copy: 'never shares a mutable object with callers',
      same: 'returns the very object stored',
      none: 'stores no object',
    };
    it(sharing[values], async () => {
      const value = { count: 1 };
      await cache.set('obj', value);
      value.count = 2;
      const first = await cache.get<{ count: number }>('obj');
      if (values === 'none') return assertSame(first, undefined, 'get');
      if (values === 'same') return assertSame(first, value, 'get');
      assertEqual(first, { count: 1 }, 'a copy of the value as it was written');
      first!.count = 3;
      assertEqual(await cache.get('obj'), { count: 1 }, 'unaffected by a reader mutating its copy');
    });

    it('expires entries after their TTL, on the cache clock', async () => {
      await cache.set('short', 'v', { ttl: '10s' });
      clock.advance(9_000);
      assertSame(await cache.get('short'), kept('v'), 'before expiry');
      if (stores) assertClose(await cache.ttl('short'), 1, 0.001, 'ttl left');
      clock.advance(1_001);
      assertSame(await cache.get('short'), undefined, 'after expiry');
      assertSame(await cache.has('short'), false, 'has after expiry');
    });

    it('overwrites an entry', async () => {
      await cache.set('k', 'one');
      await cache.set('k', 'two', { ttl: '1h' });
      assertSame(await cache.get('k'), kept('two'), 'get');
      if (stores) assertClose(await cache.ttl('k'), 3600, 0.5, 'ttl of the new entry');
    });

    it('deletes keys', async () => {
      await cache.mset([
        ['a', 1],
        ['b', 2],
        ['c', 3],
      ]);
      await cache.delete('a', 'b', 'never-set');
      assertEqual(await cache.mget(['a', 'b', 'c']), [undefined, undefined, kept(3)], 'mget');
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
      const count = (n: number) => (stores ? n : 0);
      assertSame(await cache.deletePattern(`user:${escapeGlob('*')}`), count(1), 'literal *');
      assertEqual(
        await cache.mget(['user:1', 'user:2', 'user:*']),
        [kept('u1'), kept('u2'), undefined],
        'after the literal delete',
      );
      assertSame(await cache.deletePattern(`profile:${star}`), count(1), 'encoded *');
      assertSame(await cache.get('profile:7'), kept('p7'), 'untouched');
      assertSame(await cache.deletePattern('user:*'), count(2), 'glob *');
      assertSame(await cache.get('post:1'), kept('p1'), 'other prefix');
      assertSame(await cache.deletePattern('u?er:[0-9]'), 0, '? and [] after deletion');
    });

    it('deletes by tag, counting distinct keys', async () => {
      await cache.set('a', 'A', { tags: ['users'] });
      await cache.set('b', 'B', { tags: ['users', 'admins'] });
      await cache.set('c', 'C', { tags: ['admins'] });
      await cache.set('d', 'D');
      assertSame(await cache.deleteByTag('users', 'admins'), stores ? 3 : 0, 'removed');
      assertEqual(
        await cache.mget(['a', 'b', 'c', 'd']),
        [undefined, undefined, undefined, kept('D')],
        'after the tag delete',
      );
      await cache.set('e', 'E', { tags: ['users'] });
      assertSame(await cache.deleteByTag('users'), stores ? 1 : 0, 'a tag reused');
      assertSame(await cache.deleteByTag('users'), 0, 'a tag already deleted');
    });

    it('gets and sets many keys at once', async () => {
      await cache.mset([
        ['m1', { n: 1 }],
        ['m2', [2]],
        ['m3', 'three', { ttl: 1 }],
      ]);
      clock.advance(1_500);
      assertEqual(
        await cache.mget(['m1', 'm2', 'm3', 'm4']),
        [kept({ n: 1 }), kept([2]), undefined, undefined],
        'mget',
      );
    });

    it('merges a partial object, changing only the given fields', async () => {
      await cache.set('guild', { audit: 1, modLog: 2, jail: 3 }, { ttl: 100, tags: ['guilds'] });
      clock.advance(40_000);
      await cache.merge('guild', { audit: 10, jail: undefined, extra: 'x' });
      await cache.merge('absent', { audit: 1 });
      assertSame(await cache.get('absent'), undefined, 'merge into an absent key');
      if (!stores) return assertSame(await cache.get('guild'), undefined, 'get');
      assertEqual(
        await cache.get('guild'),
        { audit: 10, modLog: 2, jail: 3, extra: 'x' },
        'merged',
      );
      assertClose(await cache.ttl('guild'), 60, 0.001, 'ttl kept');
      assertSame(await cache.deleteByTag('guilds'), 1, 'tags kept');
    });

    it('clears its own namespace and nothing else', async () => {
      const other = running!.sibling;
      await cache.set('k', 1, { tags: ['t'] });
      await other.set('k', 2, { tags: ['t'] });
      await cache.clear();
      assertSame(await cache.get('k'), undefined, 'cleared');
      assertSame(await other.get('k'), kept(2), 'the sibling namespace');
      assertSame(await other.deleteByTag('t'), stores ? 1 : 0, "the sibling's tags");
    });

    it('stores large values', async () => {
      const big = 'x'.repeat(2 * 1024 * 1024) + '✓';
      const bytes = Buffer.alloc(512 * 1024, 7);
      await cache.set('big', big);
      await cache.set('bytes', bytes);
      assertSame(await cache.get('big'), kept(big), '2 MiB string');
      assertEqual(await cache.get('bytes'), kept(bytes), '512 KiB buffer');
    });

    it('handles unicode keys and tags', async () => {
      await cache.set('ключ:🔑:値', 'unicode', { tags: ['тег'] });
      assertSame(await cache.get('ключ:🔑:値'), kept('unicode'), 'get');
      assertSame(await cache.deletePattern('ключ:*'), stores ? 1 : 0, 'pattern');
      await cache.set('ключ:🔑:値', 'again', { tags: ['тег'] });
      assertSame(await cache.deleteByTag('тег'), stores ? 1 : 0, 'tag');
    });

    it('runs the factory once for concurrent getOrSet of one key', async () => {
      const { promise, open } = gate();
      let calls = 0;
      const factory = async () => {
        calls++;
        await promise;
        return { computed: calls };
      };
      const all = Promise.all(Array.from({ length: 100 }, () => cache.getOrSet('hot', factory)));
      await new Promise((resolve) => setImmediate(resolve));
      open();
      const results = await all;
      assertSame(calls, 1, 'factory calls for 100 concurrent misses');
      assertSame(
        results.every((r) => r.computed === 1),
        true,
        'every caller got the one value',
      );
      assertEqual(await cache.getOrSet('hot', factory), { computed: stores ? 1 : 2 }, 'next call');
      assertSame(calls, stores ? 1 : 2, 'factory calls after the next call');
    });

    it('serves a stale value within grace when the origin fails, then refreshes', async () => {
      const options = { ttl: 10, grace: '1m' } as const;
      const failing = () => Promise.reject(new Error('database down'));
      await cache.getOrSet('g', () => 'v1', options);
      clock.advance(11_000);
      if (!stores)
        return assertRejects(cache.getOrSet('g', failing, options), 'database down', 'no stale');
      assertSame(await cache.get('g'), undefined, 'get past the TTL');
      assertSame(await cache.getOrSet('g', failing, options), 'v1', 'stale on error');
      assertSame(cache.stats().stale, 1, 'stale count');
      assertSame(await cache.getOrSet('g', () => 'v2', options), 'v2', 'refreshed');
      clock.advance(75_000);
      await assertRejects(cache.getOrSet('g', failing, options), 'database down', 'past grace');
    });

    it('counts hits and misses', async () => {
      await cache.get('nope');
      await cache.set('yes', 1);
      await cache.get('yes');
      const stats = cache.stats();
      assertSame(stats.hits, stores ? 1 : 0, 'hits');
      assertSame(stats.misses, stores ? 1 : 2, 'misses');
      assertSame(stats.errors, 0, 'errors');
      assertClose(stats.hitRate, stores ? 0.5 : 0, 1e-9, 'hitRate');
    });

    it('does not store undefined', async () => {
      await cache.set('u', undefined);
      assertSame(await cache.has('u'), false, 'set(undefined)');
      assertSame(await cache.getOrSet('u2', () => undefined), undefined, 'getOrSet');
      assertSame(await cache.has('u2'), false, 'getOrSet of undefined');
    });
  });
}
