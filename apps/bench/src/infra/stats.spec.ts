import { median, medianInterval } from './stats.js';

describe('medianInterval', () => {
  const noisy = (n: number, center: number) =>
    Array.from({ length: n }, (_, i) => center + (((i * 7919) % 101) - 50) / 250);

  it('contains the median and gives the same interval for the same rounds', () => {
    const values = noisy(60, 0.96);
    const [low, high] = medianInterval(values);
    expect(low).toBeLessThanOrEqual(median(values));
    expect(high).toBeGreaterThanOrEqual(median(values));
    expect(low).toBeLessThan(high);
    expect(medianInterval(values)).toEqual([low, high]);
  });

  it('narrows as rounds are added', () => {
    const width = (n: number) => {
      const [low, high] = medianInterval(noisy(n, 1));
      return high - low;
    };
    expect(width(200)).toBeLessThan(width(20) / 2);
  });

  it('is the value itself for one round, and NaN for none', () => {
    expect(medianInterval([0.97])).toEqual([0.97, 0.97]);
    expect(medianInterval([]).every(Number.isNaN)).toBe(true);
  });
});
