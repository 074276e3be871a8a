import { describe, expect, it } from '@jest/globals';
import { bulkSteps } from './redis-bulk.js';

const keys = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('bulkSteps', () => {
  it('cuts each group into batches of at most `size` keys, never mixing groups in a batch', () => {
    const steps = bulkSteps([keys('a', 5), keys('b', 2)], 3);
    expect(steps.flat()).toEqual([
      ['a0', 'a1', 'a2'],
      ['a3', 'a4'],
      ['b0', 'b1'],
    ]);
  });

  it('puts batches together in a step while the step holds at most `size` keys', () => {
    const steps = bulkSteps([keys('a', 2), keys('b', 1), keys('c', 2), keys('d', 4)], 4);
    expect(steps).toEqual([[['a0', 'a1'], ['b0']], [['c0', 'c1']], [['d0', 'd1', 'd2', 'd3']]]);
    for (const step of steps) expect(step.flat().length).toBeLessThanOrEqual(4);
  });

  it('keeps every key once, in order', () => {
    const groups = [keys('a', 7), keys('b', 1), keys('c', 12)];
    expect(bulkSteps(groups, 5).flat(2)).toEqual(groups.flat());
  });

  it('has no step for no keys', () => {
    expect(bulkSteps([], 10)).toEqual([]);
    expect(bulkSteps([[]], 10)).toEqual([]);
  });
});
