import { assertClose, assertEqual, assertSame } from './contract-assert.js';
import type { ContractCases } from './contract-cases.js';

/** Reads and writes: misses, rich values, copies, TTLs, overwrites, bulk, large values, unicode. */
export function storageCases({ it, cache, clock, values, kept, keptTagged }: ContractCases): void {
  const stores = values !== 'none';
  it('misses an absent key', async () => {
    assertEqual(await cache().get('absent'), undefined, 'get');
    assertEqual(await cache().has('absent'), false, 'has');
    assertEqual(await cache().ttl('absent'), undefined, 'ttl');
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
    await cache().set('rich', value);
    await cache().set('plain', { id: 1, name: 'plain json', tags: ['a'] });
    await cache().set('null', null);
    await cache().set('text', 'just text');
    assertEqual(await cache().get('rich'), kept(value), 'rich value');
    assertEqual(
      await cache().get('plain'),
      kept({ id: 1, name: 'plain json', tags: ['a'] }),
      'json',
    );
    assertSame(await cache().get('null'), kept(null), 'null');
    assertSame(await cache().get('text'), kept('just text'), 'string');
  });

  const sharing = {
    copy: 'never shares a mutable object with callers',
    same: 'returns the very object stored',
    none: 'stores no object',
  };
  it(sharing[values], async () => {
    const value = { count: 1 };
    await cache().set('obj', value);
    value.count = 2;
    const first = await cache().get<{ count: number }>('obj');
    if (values === 'none') return assertSame(first, undefined, 'get');
    if (values === 'same') return assertSame(first, value, 'get');
    assertEqual(first, { count: 1 }, 'a copy of the value as it was written');
    first!.count = 3;
    assertEqual(await cache().get('obj'), { count: 1 }, 'unaffected by a reader mutating its copy');
  });

  it('expires entries after their TTL, on the cache clock', async () => {
    await cache().set('short', 'v', { ttl: '10s' });
    clock.advance(9_000);
    assertSame(await cache().get('short'), kept('v'), 'before expiry');
    if (stores) assertClose(await cache().ttl('short'), 1, 0.001, 'ttl left');
    clock.advance(1_001);
    assertSame(await cache().get('short'), undefined, 'after expiry');
    assertSame(await cache().has('short'), false, 'has after expiry');
  });

  it('overwrites an entry', async () => {
    await cache().set('k', 'one');
    await cache().set('k', 'two', { ttl: '1h' });
    assertSame(await cache().get('k'), kept('two'), 'get');
    if (stores) assertClose(await cache().ttl('k'), 3600, 0.5, 'ttl of the new entry');
  });

  it('gets and sets many keys at once', async () => {
    await cache().mset([
      ['m1', { n: 1 }],
      ['m2', [2]],
      ['m3', 'three', { ttl: 1 }],
    ]);
    clock.advance(1_500);
    assertEqual(
      await cache().mget(['m1', 'm2', 'm3', 'm4']),
      [kept({ n: 1 }), kept([2]), undefined, undefined],
      'mget',
    );
  });

  it('stores large values', async () => {
    const big = 'x'.repeat(2 * 1024 * 1024) + '✓';
    const bytes = Buffer.alloc(512 * 1024, 7);
    await cache().set('big', big);
    await cache().set('bytes', bytes);
    assertSame(await cache().get('big'), kept(big), '2 MiB string');
    assertEqual(await cache().get('bytes'), kept(bytes), '512 KiB buffer');
  });

  it('handles unicode keys and tags', async () => {
    await cache().set('ключ:🔑:値', 'unicode', { tags: ['тег'] });
    assertSame(await cache().get('ключ:🔑:値'), keptTagged('unicode'), 'get');
    const found = keptTagged(1) ?? 0; // the key, when it was kept
    assertSame(await cache().deletePattern('ключ:*'), found, 'pattern');
    await cache().set('ключ:🔑:値', 'again', { tags: ['тег'] });
    assertSame(await cache().deleteByTag('тег'), found, 'tag');
  });

  it('does not store undefined', async () => {
    await cache().set('u', undefined);
    assertSame(await cache().has('u'), false, 'set(undefined)');
    assertSame(await cache().getOrSet('u2', () => undefined), undefined, 'getOrSet');
    assertSame(await cache().has('u2'), false, 'getOrSet of undefined');
  });
}
