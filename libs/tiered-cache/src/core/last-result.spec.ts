import { describe, expect, it } from '@jest/globals';
import { lastResultOf } from './last-result.js';

describe('lastResultOf', () => {
  it('calls through once per run of the same argument, and again for another', () => {
    const calls: unknown[] = [];
    const wrap = lastResultOf((p: Promise<void>) => {
      calls.push(p);
      return { of: p };
    });
    const a = Promise.resolve();
    const b = Promise.resolve();
    const first = wrap(a);
    expect(wrap(a)).toBe(first);
    const second = wrap(b);
    expect(second).not.toBe(first);
    expect(second.of).toBe(b);
    expect(wrap(a)).not.toBe(first); // only the last one is remembered
    expect(calls).toEqual([a, b, a]);
  });
});
