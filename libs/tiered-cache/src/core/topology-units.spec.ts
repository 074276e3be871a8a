import { describe, expect, it } from '@jest/globals';
import { keySlot, groupBySlot } from '../backends/redis-cluster.js';
import { MissedInvalidations } from './missed-invalidations.js';
import { RecentChanges } from './recent-changes.js';
import { TierBreakers } from './tier-breakers.js';

describe('keySlot (CLUSTER KEYSLOT)', () => {
  it('hashes keys and hash tags as Redis does', () => {
    // The examples of the CLUSTER KEYSLOT documentation; 12739 is CRC16("123456789") = 0x31C3.
    expect(keySlot('somekey')).toBe(11058);
    expect(keySlot('foo{hash_tag}')).toBe(2515);
    expect(keySlot('bar{hash_tag}')).toBe(2515);
    expect(keySlot('123456789')).toBe(12739);
    // An empty tag `{}` does not count: the whole key is hashed.
    expect(keySlot('a{}b')).not.toBe(keySlot(''));
    expect(groupBySlot(['x{t}1', 'y{t}2', 'z'])).toEqual([['x{t}1', 'y{t}2'], ['z']]);
    expect(groupBySlot(['1', '2'], '{t}')).toEqual([['1', '2']]);
    // Grouped by the slot of each key's Redis key, holding the keys as given.
    expect(groupBySlot(['1', '2', 'z'], '', (key) => (key === 'z' ? key : `{t}${key}`))).toEqual([
      ['1', '2'],
      ['z'],
    ]);
  });
});

describe('MissedInvalidations.blocks (what a tier must not serve meanwhile)', () => {
  it('keeps out exactly what the waiting invalidations remove', () => {
    const missed = new MissedInvalidations('app:', 100);
    expect(missed.blocks('app:a')).toBe(false);
    missed.add({ kind: 'keys', keys: ['app:a'] });
    missed.add({ kind: 'pattern', glob: 'app:user:*' });
    missed.add({ kind: 'clear', prefix: 'app:sub:' });
    missed.add({ kind: 'tags', tags: ['app:t1'] });
    expect(missed.blocks('app:a')).toBe(true);
    expect(missed.blocks('app:user:7')).toBe(true);
    expect(missed.blocks('app:sub:x')).toBe(true);
    expect(missed.blocks('app:b')).toEqual(new Set(['app:t1'])); // decided by the entry's tags
    // Being replayed still counts.
    const taken = missed.take();
    expect(taken).toEqual({ kind: 'keys', keys: ['app:a'] });
    expect(missed.blocks('app:a')).toBe(true);
    missed.settle(true);
    expect(missed.blocks('app:a')).toEqual(new Set(['app:t1']));
  });

  it('keeps out everything once folded into a clear of the namespace', () => {
    const missed = new MissedInvalidations('app:', 2);
    for (const key of ['app:1', 'app:2', 'app:3']) missed.add({ kind: 'keys', keys: [key] });
    expect(missed.blocks('app:anything')).toBe(true);
  });
});

describe('TierBreakers (one per server)', () => {
  it('opens the breaker of a dead server only, and retries at once when told', () => {
    let now = 0;
    const changes: string[] = [];
    const scope = (key: string) => (key.startsWith('a') ? 'node-a' : 'node-b');
    const breakers = new TierBreakers(
      { threshold: 3, openMs: 2_000, clock: () => now },
      (state, _cause, where) => changes.push(`${where ?? 'tier'} ${state}`),
      scope,
    );
    for (let i = 0; i < 3; i++) breakers.for('a1').failure(new Error('down'));
    expect(breakers.for('a2').allow()).toBe(false);
    expect(breakers.for('b1').allow()).toBe(true);
    expect(breakers.for(undefined).allow()).toBe(true); // the tier-wide one
    expect(breakers.openScopes).toEqual(['node-a']);
    expect(changes).toEqual(['node-a open']);
    now += 100;
    breakers.retryNow();
    expect(breakers.for('a1').allow()).toBe(true); // a trial at once
    breakers.for('a1').success();
    expect(changes).toEqual(['node-a open', 'node-a closed']);
  });

  it('has one breaker for everything without a scope', () => {
    const breakers = new TierBreakers(
      { threshold: 1, openMs: 10, clock: () => 0 },
      () => undefined,
      undefined,
    );
    expect(breakers.for('x')).toBe(breakers.whole);
  });
});

describe('RecentChanges (replayed after a failover)', () => {
  it('remembers the changes of the last few seconds, keys once each', () => {
    let now = 0;
    const recent = new RecentChanges('app:', () => now, 5_000, 100);
    recent.key('app:old');
    now = 6_000;
    recent.key('app:a');
    recent.invalidation({ kind: 'keys', keys: ['app:a', 'app:b'] });
    recent.invalidation({ kind: 'tags', tags: ['app:t'] });
    expect(recent.drain()).toEqual([
      { kind: 'keys', keys: ['app:a', 'app:b'] },
      { kind: 'tags', tags: ['app:t'] },
    ]);
    expect(recent.drain()).toEqual([]);
  });

  it('becomes one clear of the namespace past its bound', () => {
    let now = 0;
    const recent = new RecentChanges('app:', () => now, 5_000, 10);
    for (let i = 0; i < 11; i++) recent.key(`app:${i}`);
    expect(recent.drain()).toEqual([{ kind: 'clear', prefix: 'app:' }]);
    for (let i = 0; i < 11; i++) recent.key(`app:${i}`);
    now = 10_000; // the overflow is older than the window
    recent.key('app:new');
    expect(recent.drain()).toEqual([{ kind: 'keys', keys: ['app:new'] }]);
  });
});
