import { describe, expect, it } from '@jest/globals';
import { CacheErrorCode } from '../cache.errors.js';
import { MAX_DURATION_MS, MAX_TIMER_MS, parseDuration, parsePositiveDuration } from './duration.js';
import { catchCacheError } from '../../test/test-cache.js';

describe('parseDuration', () => {
  it.each<[number, number]>([
    [0, 0],
    [0.5, 500],
    [1, 1_000],
    [30, 30_000],
    [0.001, 1],
    [0.0004, 0], // rounded to whole milliseconds
    [0.0015, 2],
    [86_400, 86_400_000],
    [1.2345, 1_235],
  ])('reads the number %p as seconds: %p ms', (input, ms) => {
    expect(parseDuration(input, 'ttl')).toBe(ms);
  });

  it.each<[string, number]>([
    ['250ms', 250],
    ['0ms', 0],
    ['0s', 0],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['7d', 604_800_000],
    ['1.5h', 5_400_000],
    ['0.5s', 500],
    ['1.5ms', 2],
    ['1d2h3m4s5ms', 86_400_000 + 7_200_000 + 180_000 + 4_000 + 5],
    ['2m2m', 240_000], // parts add up, repeated units included
    ['90s', 90_000],
    ['10ms5s', 5_010],
  ])('reads %p as %p ms', (input, ms) => {
    expect(parseDuration(input, 'ttl')).toBe(ms);
  });

  it('trims surrounding whitespace', () => {
    expect(parseDuration('  30s ', 'ttl')).toBe(30_000);
    expect(parseDuration('\t5m\n', 'ttl')).toBe(300_000);
  });

  it('tells "m" (minutes) from "ms" (milliseconds)', () => {
    expect(parseDuration('1m', 'x')).toBe(60_000);
    expect(parseDuration('1ms', 'x')).toBe(1);
    expect(parseDuration('1m1ms', 'x')).toBe(60_001);
  });

  it.each<[string, unknown]>([
    ['a negative number', -1],
    ['a tiny negative number', -0.0001],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['an empty string', ''],
    ['a blank string', '   '],
    ['an unknown unit', '5x'],
    ['a number without a unit', '5'],
    ['a zero without a unit', '0'],
    ['a unit without a number', 'm'],
    ['a negative string', '-5s'],
    ['a leading dot', '.5s'],
    ['a trailing dot', '5.s'],
    ['an exponent', '1e3ms'],
    ['spaces between parts', '1h 30m'],
    ['a space before the unit', '5 m'],
    ['an upper-case unit', '5M'],
    ['trailing garbage', '5mx'],
    ['a word unit', '5min'],
    ['a unit before the number', 's5'],
    ['a value too large to be finite', `${'9'.repeat(400)}d`],
    ['an object', { seconds: 5 }],
    ['an array', [5]],
    ['null', null],
    ['undefined', undefined],
    ['a boolean', true],
    ['a bigint', 5n],
    ['a symbol', Symbol('5s')],
    ['a Date', new Date(0)],
  ])('rejects %s with E_INVALID_DURATION naming the option', (_what, value) => {
    const err = catchCacheError(() => parseDuration(value, 'shared.timeout'));
    expect(err.code).toBe(CacheErrorCode.E_INVALID_DURATION);
    expect(err.message).toContain('"shared.timeout"');
    expect(err.name).toBe('CacheError');
  });

  it('explains what a number or a string must look like', () => {
    expect(catchCacheError(() => parseDuration(-2, 'ttl')).message).toBe(
      'Invalid duration for option "ttl": -2 must be a finite number of seconds >= 0',
    );
    expect(catchCacheError(() => parseDuration('5x', 'grace')).message).toBe(
      "Invalid duration for option \"grace\": \"5x\" must look like '500ms', '30s', '5m', '1h30m' or '7d'",
    );
    expect(catchCacheError(() => parseDuration({}, 'ttl')).message).toBe(
      'Invalid duration for option "ttl": {} must be a number of seconds or a string such as \'5m\'',
    );
  });

  it('describes values JSON cannot print without failing itself', () => {
    expect(catchCacheError(() => parseDuration(10n, 'ttl')).message).toContain('10n');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(catchCacheError(() => parseDuration(cyclic, 'ttl')).message).toContain('"ttl"');
    expect(catchCacheError(() => parseDuration(Number.NaN, 'ttl')).message).toContain('null');
  });
});

describe('parsePositiveDuration', () => {
  it('accepts what parseDuration accepts, above zero', () => {
    expect(parsePositiveDuration(0.5, 'ttl')).toBe(500);
    expect(parsePositiveDuration('1h30m', 'ttl')).toBe(5_400_000);
    expect(parsePositiveDuration(' 1ms ', 'ttl')).toBe(1);
  });

  it.each<[unknown]>([[0], ['0s'], ['0ms'], ['0m0s'], [0.0004]])(
    'rejects %p, which is zero milliseconds',
    (value) => {
      const err = catchCacheError(() => parsePositiveDuration(value, 'local.ttl'));
      expect(err.code).toBe(CacheErrorCode.E_INVALID_DURATION);
      expect(err.message).toContain('"local.ttl"');
      expect(err.message).toContain('must be greater than zero');
    },
  );

  it('still rejects what parseDuration rejects, with its reason', () => {
    const err = catchCacheError(() => parsePositiveDuration('-1s', 'ttl'));
    expect(err.code).toBe(CacheErrorCode.E_INVALID_DURATION);
    expect(err.message).toMatch(/"ttl".*must look like/);
    expect(catchCacheError(() => parsePositiveDuration(-1, 'ttl')).message).toContain('>= 0');
  });
});

describe('duration bounds (issue 13, point 10)', () => {
  it('accepts up to 100 years, and refuses longer with the bound in the message', () => {
    expect(parseDuration('36500d', 'ttl')).toBe(MAX_DURATION_MS);
    expect(parsePositiveDuration(100 * 365 * 86_400, 'ttl')).toBe(MAX_DURATION_MS);
    for (const value of ['36501d', 1e17, '999999999999999999999d']) {
      const err = catchCacheError(() => parseDuration(value, 'ttl'));
      expect(err.code).toBe(CacheErrorCode.E_INVALID_DURATION);
      expect(err.message).toContain('"ttl"');
      expect(err.message).toContain("at most 36500 days ('36500d')");
    }
  });

  it('bounds an option that arms a timer to what a timer can wait', () => {
    expect(parsePositiveDuration('24d', 'timeout', MAX_TIMER_MS)).toBe(24 * 86_400_000);
    const err = catchCacheError(() => parsePositiveDuration('25d', 'local.timeout', MAX_TIMER_MS));
    expect(err.message).toContain('"local.timeout"');
    expect(err.message).toContain("at most 24 days ('24d')");
  });
});
