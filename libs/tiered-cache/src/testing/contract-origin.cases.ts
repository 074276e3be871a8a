import { assertClose, assertEqual, assertRejects, assertSame } from './contract-assert.js';
import { gate } from './contract-harness.js';
import type { ContractCases } from './contract-cases.js';

/** The origin and the counters: single-flight, stale-on-error within grace, hits and misses. */
export function originCases({ it, cache, clock, values }: ContractCases): void {
  const stores = values !== 'none';
  it('runs the factory once for concurrent getOrSet of one key', async () => {
    const { promise, open } = gate();
    let calls = 0;
    const factory = async () => {
      calls++;
      await promise;
      return { computed: calls };
    };
    const all = Promise.all(Array.from({ length: 100 }, () => cache().getOrSet('hot', factory)));
    // The origin is held until every caller has looked the key up (a miss each) and so joined the
    // one computation: a caller whose lookup answered after it had finished would rightly start
    // another (a backend's answers may come in several reads of its socket, as on a Cluster).
    for (let turns = 0; cache().stats().misses < 100 && turns < 100_000; turns++)
      await new Promise((resolve) => setImmediate(resolve));
    open();
    const results = await all;
    assertSame(calls, 1, 'factory calls for 100 concurrent misses');
    assertSame(
      results.every((r) => r.computed === 1),
      true,
      'every caller got the one value',
    );
    assertEqual(await cache().getOrSet('hot', factory), { computed: stores ? 1 : 2 }, 'next call');
    assertSame(calls, stores ? 1 : 2, 'factory calls after the next call');
  });

  it('serves a stale value within grace when the origin fails, then refreshes', async () => {
    const options = { ttl: 10, grace: '1m' } as const;
    const failing = () => Promise.reject(new Error('database down'));
    await cache().getOrSet('g', () => 'v1', options);
    clock.advance(11_000);
    if (!stores)
      return assertRejects(cache().getOrSet('g', failing, options), 'database down', 'no stale');
    assertSame(await cache().get('g'), undefined, 'get past the TTL');
    assertSame(await cache().getOrSet('g', failing, options), 'v1', 'stale on error');
    assertSame(cache().stats().stale, 1, 'stale count');
    assertSame(await cache().getOrSet('g', () => 'v2', options), 'v2', 'refreshed');
    clock.advance(75_000);
    await assertRejects(cache().getOrSet('g', failing, options), 'database down', 'past grace');
  });

  it('counts hits and misses', async () => {
    await cache().get('nope');
    await cache().set('yes', 1);
    await cache().get('yes');
    const stats = cache().stats();
    assertSame(stats.hits, stores ? 1 : 0, 'hits');
    assertSame(stats.misses, stores ? 1 : 2, 'misses');
    assertSame(stats.errors, 0, 'errors');
    assertClose(stats.hitRate, stores ? 0.5 : 0, 1e-9, 'hitRate');
  });
}
