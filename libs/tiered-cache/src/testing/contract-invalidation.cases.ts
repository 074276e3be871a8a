import { escapeGlob } from '../keys/glob.js';
import { encodeKeyPart } from '../keys/key-encoding.js';
import { assertClose, assertEqual, assertSame } from './contract-assert.js';
import type { ContractCases } from './contract-cases.js';

/** Invalidation: deletes by key, pattern and tag, merge, and a clear of one namespace only. */
export function invalidationCases({
  it,
  cache,
  sibling,
  clock,
  values,
  kept,
  keptTagged,
}: ContractCases): void {
  const stores = values !== 'none';
  /** How many entries written with tags a delete removes, when `n` were written. */
  const tagged = (n: number) => keptTagged(n) ?? 0;
  it('deletes keys', async () => {
    await cache().mset([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
    await cache().delete('a', 'b', 'never-set');
    assertEqual(await cache().mget(['a', 'b', 'c']), [undefined, undefined, kept(3)], 'mget');
  });

  it('deletes by pattern, and a "*" inside a value never widens it', async () => {
    await cache().mset([
      ['user:1', 'u1'],
      ['user:2', 'u2'],
      ['user:*', 'literal star'],
      ['post:1', 'p1'],
    ]);
    const star = encodeKeyPart('*');
    await cache().mset([
      [`profile:${star}`, 'star profile'],
      ['profile:7', 'p7'],
    ]);
    const count = (n: number) => (stores ? n : 0);
    assertSame(await cache().deletePattern(`user:${escapeGlob('*')}`), count(1), 'literal *');
    assertEqual(
      await cache().mget(['user:1', 'user:2', 'user:*']),
      [kept('u1'), kept('u2'), undefined],
      'after the literal delete',
    );
    assertSame(await cache().deletePattern(`profile:${star}`), count(1), 'encoded *');
    assertSame(await cache().get('profile:7'), kept('p7'), 'untouched');
    assertSame(await cache().deletePattern('user:*'), count(2), 'glob *');
    assertSame(await cache().get('post:1'), kept('p1'), 'other prefix');
    assertSame(await cache().deletePattern('u?er:[0-9]'), 0, '? and [] after deletion');
  });

  it('deletes by tag, counting distinct keys', async () => {
    await cache().set('a', 'A', { tags: ['users'] });
    await cache().set('b', 'B', { tags: ['users', 'admins'] });
    await cache().set('c', 'C', { tags: ['admins'] });
    await cache().set('d', 'D');
    assertSame(await cache().deleteByTag('users', 'admins'), tagged(3), 'removed');
    assertEqual(
      await cache().mget(['a', 'b', 'c', 'd']),
      [undefined, undefined, undefined, kept('D')],
      'after the tag delete',
    );
    await cache().set('e', 'E', { tags: ['users'] });
    assertSame(await cache().deleteByTag('users'), tagged(1), 'a tag reused');
    assertSame(await cache().deleteByTag('users'), 0, 'a tag already deleted');
  });

  it('never serves an older value of a key after a write with tags replaced it', async () => {
    await cache().set('price', 100);
    await cache().set('price', 200, { tags: ['prices'] });
    assertSame(await cache().get('price'), keptTagged(200), 'after the tagged write');
    await cache().set('price', 300);
    await cache().set('price', 400, { tags: ['prices'] });
    assertSame(await cache().deleteByTag('prices'), tagged(1), 'tag delete');
    assertSame(await cache().get('price'), undefined, 'after the tag delete');
  });

  it('merges a partial object, changing only the given fields', async () => {
    await cache().set('guild', { audit: 1, modLog: 2, jail: 3 }, { ttl: 100, tags: ['guilds'] });
    clock.advance(40_000);
    await cache().merge('guild', { audit: 10, jail: undefined, extra: 'x' });
    await cache().merge('absent', { audit: 1 });
    assertSame(await cache().get('absent'), undefined, 'merge into an absent key');
    if (tagged(1) === 0) return assertSame(await cache().get('guild'), undefined, 'get');
    assertEqual(
      await cache().get('guild'),
      { audit: 10, modLog: 2, jail: 3, extra: 'x' },
      'merged',
    );
    assertClose(await cache().ttl('guild'), 60, 0.001, 'ttl kept');
    assertSame(await cache().deleteByTag('guilds'), 1, 'tags kept');
  });

  it('clears its own namespace and nothing else', async () => {
    const other = sibling();
    await cache().set('k', 1, { tags: ['t'] });
    await other.set('k', 2, { tags: ['t'] });
    await cache().clear();
    assertSame(await cache().get('k'), undefined, 'cleared');
    assertSame(await other.get('k'), keptTagged(2), 'the sibling namespace');
    assertSame(await other.deleteByTag('t'), tagged(1), "the sibling's tags");
  });
}
