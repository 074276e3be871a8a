import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { globToRegExp } from './glob.js';
import {
  encodeKeyPart,
  hashKey,
  KEY_SEPARATOR,
  MAX_KEY_PART_LENGTH,
  namespacedKey,
} from './key-encoding.js';

/** Nothing that could widen a Redis glob or forge another key part. */
const FORBIDDEN = /[*?[\]\\:%{}\s\u0000-\u001f\u007f]/u;
const HASHED = /^#[A-Za-z0-9_-]{43}$/;

/** What is left of an encoding once its `%XX` escapes are taken out: must contain nothing FORBIDDEN. */
function unescapedPart(encoded: string): string {
  return encoded.replace(/%[0-9A-F]{2}/g, '');
}

const ALL_ASCII = Array.from({ length: 128 }, (_, i) => String.fromCharCode(i));
const UNICODE_SPACES = [
  '\u00a0',
  '\u1680',
  '\u2000',
  '\u2009',
  '\u200a',
  '\u2028',
  '\u2029',
  '\u202f',
  '\u205f',
  '\u3000',
  '\ufeff',
];

/** A corpus of tricky short values. */
const TRICKY = [
  '',
  '*',
  '?',
  '[',
  ']',
  '\\',
  ':',
  '%',
  '{',
  '}',
  ' ',
  '\t',
  '\n',
  '\r\n',
  '\u0000',
  '\u001f',
  '\u007f',
  '%2A',
  '%252A',
  '%3A',
  '%20',
  '%25',
  '%%',
  '*:*',
  'user:1',
  'user%3A1',
  '{a}',
  '{"a":1}',
  'a b',
  'a%20b',
  ' 28',
  '\u2028',
  '%E2%80%A8',
  '\u00a0',
  '%C2%A0',
  '%A0',
  'ünï✓🚀',
  '#hash',
  'plain-value_1.2~3',
  ...ALL_ASCII,
  ...UNICODE_SPACES,
];

describe('encodeKeyPart', () => {
  it.each<[string, string]>([
    ['*', '%2A'],
    ['?', '%3F'],
    ['[', '%5B'],
    [']', '%5D'],
    ['\\', '%5C'],
    [':', '%3A'],
    ['%', '%25'],
    ['{', '%7B'],
    ['}', '%7D'],
    [' ', '%20'],
    ['\t', '%09'],
    ['\n', '%0A'],
    ['\u0000', '%00'],
    ['\u001b', '%1B'],
    ['\u007f', '%7F'],
    ['\u00a0', '%C2%A0'],
    ['\u2028', '%E2%80%A8'],
    ['\u3000', '%E3%80%80'],
    ['user:*:[a]', 'user%3A%2A%3A%5Ba%5D'],
    ['%2A', '%252A'],
    ['#hash', '%23hash'],
    ['!', '%21'],
    ['!null', '%21null'],
  ])('encodes %p as %p', (input, encoded) => {
    expect(encodeKeyPart(input)).toBe(encoded);
  });

  it('keeps ordinary characters as they are', () => {
    for (const text of [
      'abc',
      'ABC-123_x.y~z',
      'ünïcödé',
      '🚀',
      'a/b',
      'a=b&c',
      '@$^()+,;=\'"<>|`',
    ]) {
      expect(encodeKeyPart(text)).toBe(text);
    }
  });

  it('never outputs a glob metacharacter, ":", "%"-lookalike, whitespace or control character of its own', () => {
    for (const text of TRICKY) {
      const encoded = encodeKeyPart(text);
      expect({ text, forbidden: FORBIDDEN.test(unescapedPart(encoded)) }).toEqual({
        text,
        forbidden: false,
      });
      expect(encoded).not.toMatch(/[*?[\]\\:{}\s]/u);
    }
    const everything = ALL_ASCII.join('') + UNICODE_SPACES.join('');
    expect(encodeKeyPart(everything)).not.toMatch(/[*?[\]\\:{}\s\u0000-\u001f\u007f]/u);
  });

  it('is reversible for short values, so distinct strings never share an encoding', () => {
    for (const text of TRICKY.filter((t) => t !== '')) {
      expect(decodeURIComponent(encodeKeyPart(text))).toBe(text);
    }
    expect(encodeKeyPart('')).toBe('!""'); // told apart from an absent value
    const seen = new Map<string, string>();
    for (const text of new Set(TRICKY)) {
      const encoded = encodeKeyPart(text);
      expect({ encoded, first: seen.get(encoded) ?? text }).toEqual({ encoded, first: text });
      seen.set(encoded, text);
    }
  });

  it('tells apart a value from its encoded look-alike', () => {
    expect(encodeKeyPart('%2A')).not.toBe(encodeKeyPart('*'));
    expect(encodeKeyPart('%3A')).not.toBe(encodeKeyPart(':'));
    expect(encodeKeyPart('%25')).not.toBe(encodeKeyPart('%'));
    expect(encodeKeyPart('a%20b')).not.toBe(encodeKeyPart('a b'));
    // Non-ASCII whitespace is encoded per UTF-8 byte: U+2028 is not " 28".
    expect(encodeKeyPart('\u2028')).not.toBe(encodeKeyPart(' 28'));
    expect(encodeKeyPart('\u1680')).not.toBe(encodeKeyPart('\u001680'));
  });

  it('gives the same answer on repeated and interleaved calls (no regex state leaks)', () => {
    const inputs = ['a*b', 'plain', '*', 'x:y', 'plain', 'a*b', '%'];
    const first = inputs.map((v) => encodeKeyPart(v));
    const second = inputs.map((v) => encodeKeyPart(v));
    expect(second).toEqual(first);
    expect(first).toEqual(['a%2Ab', 'plain', '%2A', 'x%3Ay', 'plain', 'a%2Ab', '%25']);
  });

  describe('non-string values', () => {
    it.each<[string, unknown, string]>([
      ['an integer', 42, '42'],
      ['a negative float', -1.5, '-1.5'],
      ['zero', 0, '0'],
      ['NaN', Number.NaN, '!NaN'],
      ['Infinity', Number.POSITIVE_INFINITY, '!Infinity'],
      ['-Infinity', Number.NEGATIVE_INFINITY, '!-Infinity'],
      ['minus zero', -0, '!-0'],
      ['an exponent', 1e21, '1e+21'],
      ['true', true, 'true'],
      ['false', false, 'false'],
      ['null', null, '!null'],
      ['undefined', undefined, ''],
      ['a bigint', 12345678901234567890n, '12345678901234567890'],
      ['a Date', new Date('2024-02-29T12:34:56.789Z'), '!Date(2024-02-29T12%3A34%3A56.789Z)'],
      ['an invalid Date', new Date(Number.NaN), '!Date(NaN)'],
      ['an array', [1, 'a'], '!%5B1,"a"%5D'],
      ['an object', { id: 7, role: 'admin' }, '!%7B"id"%3A7,"role"%3A"admin"%7D'],
      ['an object holding a bigint', { n: 5n }, '!%7B"n"%3A5n%7D'],
      ['a nested object', { a: { b: [null] } }, '!%7B"a"%3A%7B"b"%3A%5Bnull%5D%7D%7D'],
    ])('encodes %s', (_what, value, encoded) => {
      expect(encodeKeyPart(value)).toBe(encoded);
    });

    it('stringifies objects by content: equal objects share a key, different ones do not', () => {
      expect(encodeKeyPart({ a: 1, b: [2] })).toBe(encodeKeyPart({ a: 1, b: [2] }));
      expect(encodeKeyPart({ a: 1 })).not.toBe(encodeKeyPart({ a: 2 }));
      expect(encodeKeyPart(new Date(0))).not.toBe(encodeKeyPart(new Date(1)));
    });

    it('keeps non-string values free of metacharacters too', () => {
      for (const value of [{ 'k*': '[v]' }, ['a:b', '\\'], new Date(), { n: -1n }, 3.14]) {
        expect(unescapedPart(encodeKeyPart(value))).not.toMatch(FORBIDDEN);
      }
    });
  });

  describe('long values', () => {
    it(`keeps encodings of up to ${MAX_KEY_PART_LENGTH} characters readable`, () => {
      expect(MAX_KEY_PART_LENGTH).toBe(128);
      const exact = 'a'.repeat(128);
      expect(encodeKeyPart(exact)).toBe(exact);
      const stars = '*'.repeat(42); // 126 characters once encoded
      expect(encodeKeyPart(stars)).toBe('%2A'.repeat(42));
    });

    it('replaces a longer encoding with "#" and the 43-character base64url SHA-256 of the value', () => {
      const long = 'a'.repeat(129);
      const encoded = encodeKeyPart(long);
      expect(encoded).toMatch(HASHED);
      expect(encoded).toHaveLength(44);
      expect(encoded).toBe(`#${createHash('sha256').update(long, 'utf8').digest('base64url')}`);
      expect(encoded).toBe(`#${hashKey(long)}`);
    });

    it('measures the encoded length: a short value of many escaped characters is hashed', () => {
      const stars = '*'.repeat(43); // 43 characters, 129 once encoded
      const encoded = encodeKeyPart(stars);
      expect(encoded).toMatch(HASHED);
      // The hash is of the raw value, so it does not depend on the escaping.
      expect(encoded).toBe(`#${hashKey(stars)}`);
    });

    it('is deterministic and tells long values apart', () => {
      const a = `${'x'.repeat(200)}:1`;
      const b = `${'x'.repeat(200)}:2`;
      expect(encodeKeyPart(a)).toBe(encodeKeyPart(a));
      expect(encodeKeyPart(a)).not.toBe(encodeKeyPart(b));
      const big = { list: Array.from({ length: 50 }, (_, i) => i) };
      expect(encodeKeyPart(big)).toMatch(HASHED);
      expect(encodeKeyPart(big)).toBe(
        encodeKeyPart({ list: Array.from({ length: 50 }, (_, i) => i) }),
      );
      expect(encodeKeyPart('*'.repeat(1000))).not.toMatch(FORBIDDEN); // a hash has no "%" at all
    });
  });

  describe('inside patterns', () => {
    it('a "*" value in a pattern matches only keys holding that literal value', () => {
      const pattern = globToRegExp(`user:${encodeKeyPart('*')}:*`);
      expect(pattern.test('user:1:profile')).toBe(false);
      expect(pattern.test('user:admin:profile')).toBe(false);
      expect(pattern.test(`user:${encodeKeyPart('*')}:profile`)).toBe(true);
    });

    it('no value, however crafted, widens a pattern or crosses a separator', () => {
      const keys = [
        'user:1:profile',
        'user:2:profile',
        'user:1:settings',
        'user:admin:profile',
        'user::profile',
      ];
      for (const value of TRICKY) {
        const part = encodeKeyPart(value);
        const pattern = globToRegExp(`user:${part}:profile`);
        const own = `user:${part}:profile`;
        expect(pattern.test(own)).toBe(true);
        for (const key of keys) {
          if (key !== own)
            expect({ value, key, matched: pattern.test(key) }).toEqual({
              value,
              key,
              matched: false,
            });
        }
        expect(part.includes(KEY_SEPARATOR)).toBe(false);
      }
    });
  });
});

describe('hashKey and namespacedKey', () => {
  it('hashKey is the 43-character base64url SHA-256 of the UTF-8 text', () => {
    expect(hashKey('')).toBe('47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU');
    expect(hashKey('ünï')).toBe(
      createHash('sha256').update(Buffer.from('ünï', 'utf8')).digest('base64url'),
    );
    expect(hashKey('a')).not.toBe(hashKey('b'));
  });

  it('namespacedKey joins with ":"', () => {
    expect(KEY_SEPARATOR).toBe(':');
    expect(namespacedKey('cache', 'user:1')).toBe('cache:user:1');
  });
});

describe('encodeKeyPart hashed parts', () => {
  it('never lets a short value pose as the hash of a long one', () => {
    const long = 'x'.repeat(500);
    const hashed = encodeKeyPart(long);
    expect(hashed.startsWith('#')).toBe(true);
    expect(encodeKeyPart(hashed)).not.toBe(hashed);
  });
});
