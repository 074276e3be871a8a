import { describe, expect, it } from '@jest/globals';
import { MissedInvalidations } from './missed-invalidations.js';

describe('MissedInvalidations', () => {
  it('keeps invalidations oldest first and drops each once applied', () => {
    const missed = new MissedInvalidations('app:', 10);
    const first = { kind: 'keys', keys: ['app:a'] } as const;
    const second = { kind: 'tags', tags: ['app:users'] } as const;
    missed.add(first);
    missed.add(second);
    expect(missed.size).toBe(2);
    expect(missed.peek()).toBe(first);
    missed.done(first);
    expect(missed.peek()).toBe(second);
    missed.done(second);
    expect(missed.size).toBe(0);
    expect(missed.peek()).toBeUndefined();
  });

  it('folds everything into one clear of the namespace past its limit, and adds nothing after it', () => {
    const missed = new MissedInvalidations('app:', 3);
    for (let i = 0; i < 3; i++) missed.add({ kind: 'keys', keys: [`app:${i}`] });
    missed.add({ kind: 'pattern', glob: 'app:p*' });
    expect(missed.size).toBe(1);
    expect(missed.peek()).toEqual({ kind: 'clear', prefix: 'app:' });
    missed.add({ kind: 'keys', keys: ['app:later'] });
    expect(missed.size).toBe(1);
  });

  it('does not drop an overflow clear for an invalidation replayed before the overflow', () => {
    const missed = new MissedInvalidations('app:', 1);
    const replaying = { kind: 'keys', keys: ['app:a'] } as const;
    missed.add(replaying);
    missed.add({ kind: 'keys', keys: ['app:b'] }); // overflows while `replaying` is in flight
    missed.done(replaying);
    expect(missed.peek()).toEqual({ kind: 'clear', prefix: 'app:' });
  });
});
