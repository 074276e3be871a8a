import { describe, expect, it } from '@jest/globals';
import { MissedInvalidations, REPLAY_KEY_BATCH } from './missed-invalidations.js';

describe('MissedInvalidations', () => {
  it('keeps each key once, replays keys in batches, then the other invalidations in order', () => {
    const missed = new MissedInvalidations('app:', 10_000);
    const tags = { kind: 'tags', tags: ['app:users'] } as const;
    const pattern = { kind: 'pattern', glob: 'app:p*' } as const;
    missed.add({ kind: 'keys', keys: ['app:a'] });
    missed.add(tags);
    missed.add({ kind: 'keys', keys: ['app:a', 'app:b'] });
    missed.add(pattern);
    expect(missed.size).toBe(4);
    expect(missed.take()).toEqual({ kind: 'keys', keys: ['app:a', 'app:b'] });
    expect(missed.take()).toBeUndefined(); // one at a time
    expect(missed.size).toBe(3); // the one being replayed still counts
    missed.settle(true);
    expect(missed.take()).toBe(tags);
    missed.settle(true);
    expect(missed.take()).toBe(pattern);
    missed.settle(true);
    expect(missed.size).toBe(0);
    expect(missed.take()).toBeUndefined();

    for (let i = 0; i < REPLAY_KEY_BATCH + 5; i++) missed.add({ kind: 'keys', keys: [`app:${i}`] });
    expect((missed.take() as { keys: readonly string[] }).keys).toHaveLength(REPLAY_KEY_BATCH);
    missed.settle(true);
    expect((missed.take() as { keys: readonly string[] }).keys).toHaveLength(5);
  });

  it('keeps what failed to replay, and what was recorded while it was replayed', () => {
    const missed = new MissedInvalidations('app:', 10);
    const tags = { kind: 'tags', tags: ['app:t'] } as const;
    missed.add(tags);
    missed.add({ kind: 'keys', keys: ['app:a'] });
    expect(missed.take()).toEqual({ kind: 'keys', keys: ['app:a'] });
    missed.add({ kind: 'keys', keys: ['app:a'] }); // the same key fails again meanwhile
    missed.settle(true);
    expect(missed.take()).toEqual({ kind: 'keys', keys: ['app:a'] });
    missed.settle(false);
    expect(missed.take()).toEqual({ kind: 'keys', keys: ['app:a'] });
    missed.settle(true);
    expect(missed.take()).toBe(tags);
    missed.settle(false);
    expect(missed.take()).toBe(tags);
    missed.settle(true);
    expect(missed.size).toBe(0);
  });

  it('folds everything into one clear of the namespace past its limit, and adds nothing after it', () => {
    const missed = new MissedInvalidations('app:', 3);
    for (let i = 0; i < 3; i++) missed.add({ kind: 'keys', keys: [`app:${i}`] });
    expect(missed.folds).toBe(0);
    missed.add({ kind: 'pattern', glob: 'app:p*' });
    expect(missed.folds).toBe(1);
    expect(missed.size).toBe(1);
    missed.add({ kind: 'keys', keys: ['app:later'] });
    expect(missed.size).toBe(1);
    expect(missed.take()).toEqual({ kind: 'clear', prefix: 'app:' });
    missed.settle(false); // still owed, not a second overflow
    expect(missed.folds).toBe(1);
    expect(missed.take()).toEqual({ kind: 'clear', prefix: 'app:' });
    missed.settle(true);
    expect(missed.size).toBe(0);
  });

  it('treats a missed clear of the namespace as the fold itself, and one of another prefix as any other', () => {
    const missed = new MissedInvalidations('app:', 10);
    missed.add({ kind: 'keys', keys: ['app:a'] });
    missed.add({ kind: 'clear', prefix: 'app:named:' });
    expect(missed.size).toBe(2);
    missed.add({ kind: 'clear', prefix: 'app:' });
    expect(missed.size).toBe(1);
    expect(missed.folds).toBe(0);
  });

  it('keeps the fold when one replayed before it fails, and keeps a clear taken before it for the next replay', () => {
    const missed = new MissedInvalidations('app:', 1);
    missed.add({ kind: 'keys', keys: ['app:a'] });
    expect(missed.take()).toEqual({ kind: 'keys', keys: ['app:a'] });
    missed.add({ kind: 'keys', keys: ['app:b'] });
    missed.add({ kind: 'keys', keys: ['app:c'] }); // overflows while app:a is in flight
    missed.settle(false);
    expect(missed.size).toBe(1);
    expect(missed.take()).toEqual({ kind: 'clear', prefix: 'app:' });
    missed.add({ kind: 'keys', keys: ['app:d'] }); // after the clear began: it may have missed it
    missed.settle(true);
    expect(missed.take()).toEqual({ kind: 'keys', keys: ['app:d'] });
  });
});
