import { describe, expect, it } from '@jest/globals';
import { redisMatch, utf8Bytes } from '../../test/redis-stringmatch.js';
import { globTokens, globToRegExp, scanPattern } from './glob.js';

/** Redis's answer (by bytes) for a pattern and a key. */
const redis = (pattern: string, key: string) => redisMatch(utf8Bytes(pattern), utf8Bytes(key));
/** The library's answer (by characters). */
const ours = (glob: string, key: string) => globToRegExp(glob).test(key);

describe('glob matching by character, in every tier (issue 13, key 5)', () => {
  it('"?" and "[üö]" match one character, however many bytes it has', () => {
    expect(ours('city:?', 'city:ü')).toBe(true);
    expect(ours('city:[üö]', 'city:ü')).toBe(true);
    expect(ours('city:[üö]', 'city:é')).toBe(false);
    expect(ours('city:[^ü]', 'city:é')).toBe(true);
    expect(ours('city:[^ü]', 'city:ü')).toBe(false);
    expect(ours('x:?', 'x:🚀')).toBe(true);
    expect(ours('x:??', 'x:🚀')).toBe(false);
    expect(ours('x:[🚀-🚁]', 'x:🚀')).toBe(true);
    // Redis itself, by bytes, sees it otherwise: the reason for scanPattern
    expect(redis('city:?', 'city:ü')).toBe(false);
    expect(redis('city:??', 'city:ü')).toBe(true);
    expect(redis('city:[üö]', 'city:ü')).toBe(false);
  });

  it.each<[string, string]>([
    ['city:?', 'city:*'],
    ['city:[üö]', 'city:*'],
    ['city:[^a]', 'city:*'],
    ['city:??*?', 'city:*'],
    ['user:[a-c]:x', 'user:[a-c]:x'],
    ['user:[a-c]?:x', 'user:[a-c]*:x'],
    ['ü:*', 'ü:*'],
    ['a\\*?b', 'a\\**b'],
    ['a\\?', 'a\\?'],
    ['k:[\\]]', 'k:[\\]]'],
    ['k:[ab', 'k:[ab'],
    ['k:\\', 'k:\\\\'],
  ])('scanPattern(%p) is %p', (glob, scan) => {
    expect(scanPattern(glob)).toBe(scan);
  });

  it('scanPattern never misses a key the glob matches (random non-ASCII patterns, by bytes)', () => {
    let seed = 13;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    // pattern pieces: glob syntax, whole classes (some with non-ASCII members), and raw brackets
    const patternChars = ['a', 'ü', '🚀', '-', '^', ']', '[', '\\', '*', '*', '?', '?'].concat([
      '[aü]',
      '[^a]',
      '[^ü]',
      '[a-ü]',
      '[ü-a]',
      '[\\]ü]',
      '[ÿ]',
      '\\ü',
      '[a-c]',
      '[^-]',
    ]);
    const keyChars = ['a', 'ü', '🚀', '-', '^', ']', '[', '\\', 'Ã', 'ÿ', 'b'];
    const pick = (from: string[], length: number) =>
      Array.from({ length }, () => from[next(from.length)]).join('');
    const misses: string[] = [];
    let matched = 0;
    for (let round = 0; round < 50_000; round++) {
      const glob = pick(patternChars, next(5));
      const key = pick(keyChars, 1 + next(3));
      if (!ours(glob, key)) continue;
      matched++;
      if (!redis(scanPattern(glob), key) && misses.length < 10)
        misses.push(`${JSON.stringify(glob)} vs ${JSON.stringify(key)}`);
    }
    expect(matched).toBeGreaterThan(2_000);
    expect(misses).toEqual([]);
  });

  it('the raw glob would miss such keys in Redis (what happened before)', () => {
    const missed = ['city:?', 'city:[üö]', 'city:[^a]'].filter((g) => !redis(g, 'city:ü'));
    expect(missed).toEqual(['city:?', 'city:[üö]', 'city:[^a]']);
    expect(['city:?', 'city:[üö]', 'city:[^a]'].every((g) => ours(g, 'city:ü'))).toBe(true);
  });

  it('globTokens parses a class as written, and by code point', () => {
    expect(globTokens('[a-c🚀]x')).toEqual([
      {
        kind: 'class',
        negate: false,
        ranges: [
          [0x61, 0x63],
          [0x1f680, 0x1f680],
        ],
        text: '[a-c🚀]',
      },
      { kind: 'char', char: 'x' },
    ]);
    expect(globTokens('\\*?*')).toEqual([
      { kind: 'char', char: '*' },
      { kind: 'any' },
      { kind: 'star' },
    ]);
  });
});
