import { describe, expect, it } from '@jest/globals';
import { catchCacheError } from '../../test/test-cache.js';
import { CacheErrorCode } from '../cache.errors.js';
import { escapeGlob, globToRegExp } from './glob.js';
import { hashKey, wellFormedKey } from './key-encoding.js';
import {
  longKeyPattern,
  MAX_KEY_LENGTH,
  MIN_HEAD_LENGTH,
  storedKey,
  storedPattern,
} from './stored-key.js';

const LONG_FORM = /^([\s\S]*)#([\w-]{43})$/;
const prefix = `${escapeGlob('shop:v1')}:`;
const ns = 'shop:v1:';

/** Whether a pattern delete (the pattern, then its long-key pattern) removes the stored key. */
function removes(pattern: string, key: string): boolean {
  const stored = ns + storedKey(key);
  const glob = storedPattern(pattern);
  const long = longKeyPattern(prefix, glob);
  return (
    globToRegExp(prefix + glob).test(stored) ||
    (long !== undefined && globToRegExp(long).test(stored))
  );
}

describe('storedKey (issue 13, key 1)', () => {
  it(`keeps a key of up to ${MAX_KEY_LENGTH} code units as it is`, () => {
    const key = `k:${'a'.repeat(MAX_KEY_LENGTH - 2)}`;
    expect(storedKey(key)).toBe(key);
    expect(storedKey('user:1')).toBe('user:1');
  });

  it('keeps a readable head of a long key, then "#" and the hash of the whole key', () => {
    const key = `search:user42:${'q'.repeat(2000)}`;
    const stored = storedKey(key);
    const [, head, hash] = LONG_FORM.exec(stored)!;
    expect(head).toBe(key.slice(0, MAX_KEY_LENGTH - 1));
    expect(hash).toBe(hashKey(key));
    expect(stored.startsWith('search:user42:')).toBe(true);
  });

  it('is longer than any key kept as it is, so no key can pose as another long key', () => {
    for (const key of ['x'.repeat(1025), 'x'.repeat(100_000), `${'é'.repeat(1022)}🚀🚀🚀`])
      expect(storedKey(key).length).toBeGreaterThan(MAX_KEY_LENGTH);
  });

  it('never cuts a surrogate pair or a %XX escape, and is well-formed', () => {
    for (let shift = 0; shift < 6; shift++) {
      for (const filler of ['🚀', '%2A', '%C3%BC', 'a']) {
        const key = 'k'.repeat(shift) + filler.repeat(2000);
        const stored = storedKey(key);
        const [, head] = LONG_FORM.exec(stored)!;
        expect(head.length).toBeGreaterThanOrEqual(MIN_HEAD_LENGTH);
        expect(wellFormedKey(stored)).toBe(stored);
        expect(key.startsWith(head)).toBe(true);
        expect(head).not.toMatch(/%[0-9A-F]?$/);
      }
    }
  });

  it('tells apart long keys that differ only past the head', () => {
    const base = 'x'.repeat(1500);
    expect(storedKey(`${base}:1`)).not.toBe(storedKey(`${base}:2`));
    expect(storedKey(`${base}\ud800`)).not.toBe(storedKey(`${base}\udfff`));
  });

  it('escapes lone surrogates, so that UTF-8 keeps the keys apart (issue 13, key 6)', () => {
    expect(storedKey('doc:\ud800')).toBe('doc:%ED%A0%80');
    expect(storedKey('doc:\udfff')).toBe('doc:%ED%BF%BF');
  });
});

describe('pattern deletes reach long keys (issue 13, key 1)', () => {
  const long = `search:user42:${'q'.repeat(2000)}:page9`;

  it('a pattern that matches within the head matches the stored form itself', () => {
    expect(globToRegExp(`${prefix}search:user42:*`).test(ns + storedKey(long))).toBe(true);
    expect(longKeyPattern(prefix, 'search:user42:*')).toBeUndefined();
    expect(longKeyPattern(prefix, 'user:?')).toBeUndefined();
    expect(longKeyPattern(prefix, '*')).toBeUndefined();
  });

  it('a pattern that constrains the tail gets a long-key pattern, which over-deletes', () => {
    expect(longKeyPattern(prefix, 'search:*:page9')).toBe(`${prefix}search:*#${'?'.repeat(43)}`);
    expect(removes('search:*:page9', long)).toBe(true);
    expect(removes('*:page9', long)).toBe(true);
    expect(removes('search:user42:q*', long)).toBe(true);
    // other long keys with that beginning go too (the safe direction), short keys do not
    expect(removes('search:*:page9', `search:${'z'.repeat(2000)}:page1`)).toBe(true);
    expect(removes('search:*:page9', 'search:user42:page1')).toBe(false);
    expect(removes('search:*:page9', `other:${'q'.repeat(2000)}:page9`)).toBe(false);
  });

  it('never misses a long key that a pattern matches', () => {
    const keys = [
      long,
      `a${'🚀'.repeat(700)}:z`,
      `${'é'.repeat(1200)}`,
      `k:${'x'.repeat(5000)}`,
      `k:${'%2A'.repeat(600)}:end`,
      `${'b'.repeat(600)}`.repeat(2),
    ];
    const patterns = [
      '*',
      '*:z',
      'a*',
      'a?*',
      '*z',
      '*:page9',
      'search:*9',
      '*user42*',
      'k:*end',
      'k:x*',
      'k:[x]*x',
      '?*',
      `${'b'.repeat(600)}*`,
      `${'?'.repeat(1200)}`,
      `${'b'.repeat(1200)}`,
      `${'é'.repeat(1200)}`,
      `${'é'.repeat(600)}*`,
      `a${'🚀'.repeat(700)}:?`,
    ];
    const misses: string[] = [];
    let matched = 0;
    for (const pattern of patterns) {
      for (const key of keys) {
        if (!globToRegExp(pattern).test(key)) continue;
        matched++;
        if (!removes(pattern, key)) misses.push(`${pattern.slice(0, 20)} ${key.slice(0, 20)}`);
      }
    }
    expect(matched).toBeGreaterThan(20);
    expect(misses).toEqual([]);
  });
});

describe('storedPattern', () => {
  it('escapes a lone surrogate written in a pattern, as storedKey does', () => {
    expect(storedPattern('doc:\ud800')).toBe('doc:%ED%A0%80');
    expect(storedPattern('doc:\ud800*')).toBe('doc:%ED%A0%80*');
    expect(storedPattern('a:*?[b]\\*')).toBe('a:*?[b]\\*');
    expect(globToRegExp(storedPattern('doc:\udfff')).test(storedKey('doc:\udfff'))).toBe(true);
    expect(globToRegExp(storedPattern('doc:\udfff')).test(storedKey('doc:\ud800'))).toBe(false);
  });

  it('refuses a lone surrogate inside a class', () => {
    const err = catchCacheError(() => storedPattern('doc:[\ud800]'));
    expect(err.code).toBe(CacheErrorCode.E_INVALID_KEY);
    expect(err.message).toContain('lone surrogate inside a [class]');
  });
});
