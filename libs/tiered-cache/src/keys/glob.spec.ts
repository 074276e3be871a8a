import { describe, expect, it } from '@jest/globals';
import { redisMatch } from '../../test/redis-stringmatch.js';
import { escapeGlob, globToRegExp, isLiteralGlob } from './glob.js';

function matches(glob: string, text: string): boolean {
  return globToRegExp(glob).test(text);
}

/** Every string over `alphabet` of length `min`..`max`. */
function allStrings(alphabet: readonly string[], min: number, max: number): string[] {
  const out: string[] = [];
  let level = [''];
  for (let len = 0; len <= max; len++) {
    if (len >= min) out.push(...level);
    if (len < max) level = level.flatMap((prefix) => alphabet.map((c) => prefix + c));
  }
  return out;
}

describe('globToRegExp', () => {
  it('matches the whole key, anchored at both ends', () => {
    expect(matches('user', 'user')).toBe(true);
    expect(matches('user', 'users')).toBe(false);
    expect(matches('user', 'a:user')).toBe(false);
    expect(matches('', '')).toBe(true);
    expect(matches('', 'a')).toBe(false);
  });

  it('"*" matches any run of characters, ":" and newlines included, and the empty run', () => {
    expect(matches('user:*', 'user:1')).toBe(true);
    expect(matches('user:*', 'user:1:profile:avatar')).toBe(true);
    expect(matches('user:*', 'user:')).toBe(true);
    expect(matches('user:*', 'user')).toBe(false);
    expect(matches('*:profile', 'user:1:profile')).toBe(true);
    expect(matches('u*e', 'u\nmultiline\ne')).toBe(true);
    expect(matches('a*b*c', 'a::b::c')).toBe(true);
    expect(matches('a*b*c', 'a::c::b')).toBe(false);
    expect(matches('**', 'anything')).toBe(true);
  });

  it('"?" matches exactly one character', () => {
    expect(matches('user:?', 'user:1')).toBe(true);
    expect(matches('user:?', 'user::')).toBe(true);
    expect(matches('user:?', 'user:')).toBe(false);
    expect(matches('user:?', 'user:12')).toBe(false);
    expect(matches('??', '\n\t')).toBe(true);
  });

  it('"[abc]", "[^a]" and "[a-c]" are character classes', () => {
    expect(['a', 'b', 'c', 'd', 'ab', ''].map((s) => matches('[abc]', s))).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
    expect(['a', 'b', ':', ''].map((s) => matches('[^a]', s))).toEqual([false, true, true, false]);
    expect(['a', 'b', 'c', 'd', '-', 'B'].map((s) => matches('[a-c]', s))).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
    expect(matches('[c-a]', 'b')).toBe(true); // reversed ranges are swapped, as in Redis
    expect(matches('id:[0-9][0-9]', 'id:42')).toBe(true);
    expect(matches('id:[0-9][0-9]', 'id:4x')).toBe(false);
    expect(matches('[^0-9]x', 'ax')).toBe(true);
    expect(matches('[^0-9]x', '5x')).toBe(false);
    expect(matches('[a-]', '-')).toBe(false); // Redis reads "a-]" as the range "]".."a"
    expect(matches('[-a]', '-')).toBe(true);
    expect(matches('[]', 'a')).toBe(false); // an empty class matches nothing
    expect(matches('[^]', 'a')).toBe(true); // and its negation anything
    expect(matches('[*?]', '*')).toBe(true);
    expect(matches('[*?]', 'x')).toBe(false);
    expect(matches('[.]', 'a')).toBe(false); // regex characters stay literal inside a class
  });

  it('"\\x" is the character x itself, outside and inside classes', () => {
    expect(matches('a\\*', 'a*')).toBe(true);
    expect(matches('a\\*', 'ab')).toBe(false);
    expect(matches('a\\*', 'a')).toBe(false);
    expect(matches('\\?', '?')).toBe(true);
    expect(matches('\\?', 'x')).toBe(false);
    expect(matches('\\[a]', '[a]')).toBe(true);
    expect(matches('\\[a]', 'a')).toBe(false);
    expect(matches('\\\\', '\\')).toBe(true);
    expect(matches('\\a', 'a')).toBe(true);
    expect(matches('[\\]]', ']')).toBe(true);
    expect(matches('[\\^a]', '^')).toBe(true);
    expect(matches('[\\^a]', 'b')).toBe(false);
    expect(matches('[\\a-c]', 'b')).toBe(false); // an escaped character never starts a range
    expect(matches('[\\a-c]', '-')).toBe(true);
    expect(matches('a\\', 'a\\')).toBe(true); // a trailing backslash is itself
  });

  it('an unterminated "[" opens a class that runs to the end of the pattern, as in Redis', () => {
    expect(matches('[abc', 'a')).toBe(true);
    expect(matches('[abc', 'c')).toBe(true);
    expect(matches('[abc', '[abc')).toBe(false);
    expect(matches('[^a', 'b')).toBe(true);
    expect(matches('[^a', 'a')).toBe(false);
    expect(matches('user:[', 'user:[')).toBe(false); // a trailing "[" matches nothing
    expect(matches('user:[', 'user:')).toBe(false);
    expect(matches('user:\\[', 'user:[')).toBe(true); // escaped, it is a literal "["
    expect(matches('user:[^', 'user:x')).toBe(true);
  });

  it('keeps every other character literal (no regex injection)', () => {
    const text = 'a.b+c(d)|e{2}$^/f';
    expect(matches(text, text)).toBe(true);
    expect(matches('a.c', 'abc')).toBe(false);
    expect(matches('a+', 'aa')).toBe(false);
    expect(matches('(a|b)', 'a')).toBe(false);
    expect(matches('x{2}', 'xx')).toBe(false);
    expect(matches('ünï:✓:*', 'ünï:✓:1')).toBe(true);
  });

  it('always compiles, whatever the pattern', () => {
    for (const glob of allStrings(['[', ']', '^', '-', '\\', '*', 'a'], 0, 5)) {
      expect(() => globToRegExp(glob)).not.toThrow();
    }
  });

  it('agrees with Redis (ported stringmatchlen) on every short pattern over glob-heavy alphabets', () => {
    const patterns = allStrings(['a', 'b', '-', '^', ']', '[', '\\', '*', '?', ':'], 0, 4);
    // Non-empty keys only: stringmatchlen() itself says "*" does not match "", but cache keys are never empty.
    const keys = allStrings(['a', 'b', '-', ']', '[', '\\', '*'], 1, 3);
    let compared = 0;
    const disagreements: string[] = [];
    for (const glob of patterns) {
      const re = globToRegExp(glob);
      for (const key of keys) {
        compared++;
        if (re.test(key) !== redisMatch(glob, key) && disagreements.length < 10) {
          disagreements.push(
            `${JSON.stringify(glob)} vs ${JSON.stringify(key)}: redis ${redisMatch(glob, key)}`,
          );
        }
      }
    }
    expect(compared).toBe(11_111 * 399);
    expect(disagreements).toEqual([]);
  });

  it('agrees with Redis on longer pseudo-random patterns and keys', () => {
    let seed = 20240229;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const patternChars = 'ab:-^]\\[*?x0';
    const keyChars = 'ab:-^]\\[*?x0Z';
    const disagreements: string[] = [];
    for (let round = 0; round < 20_000; round++) {
      const glob = Array.from(
        { length: next(10) },
        () => patternChars[next(patternChars.length)],
      ).join('');
      const key = Array.from({ length: 1 + next(8) }, () => keyChars[next(keyChars.length)]).join(
        '',
      );
      if (matches(glob, key) !== redisMatch(glob, key) && disagreements.length < 10) {
        disagreements.push(`${JSON.stringify(glob)} vs ${JSON.stringify(key)}`);
      }
    }
    expect(disagreements).toEqual([]);
  });

  it('the reference port itself behaves like Redis on documented examples', () => {
    // From the KEYS documentation: h?llo, h*llo, h[ae]llo, h[^e]llo, h[a-b]llo.
    expect(redisMatch('h?llo', 'hello')).toBe(true);
    expect(redisMatch('h*llo', 'heeeello')).toBe(true);
    expect(redisMatch('h[ae]llo', 'hallo')).toBe(true);
    expect(redisMatch('h[ae]llo', 'hillo')).toBe(false);
    expect(redisMatch('h[^e]llo', 'hallo')).toBe(true);
    expect(redisMatch('h[^e]llo', 'hello')).toBe(false);
    expect(redisMatch('h[a-b]llo', 'hbllo')).toBe(true);
    expect(redisMatch('h[a-b]llo', 'hcllo')).toBe(false);
    expect(redisMatch('h\\*llo', 'h*llo')).toBe(true);
    expect(redisMatch('h\\*llo', 'hello')).toBe(false);
  });
});

describe('escapeGlob', () => {
  const tricky = [
    '',
    '*',
    '?',
    '[',
    ']',
    '\\',
    '[]',
    '[^]',
    '[a-z]',
    '\\*',
    '\\\\',
    '*?[]\\',
    'user:*',
    'a\\',
    '\\[abc',
    '[abc',
    ']abc[',
    '^',
    '-',
    'a-z',
    '**',
    '?*?',
    '\\\\*',
    'x[\\]]y',
    'multi\nline*',
    'ünï[ç]ödé*',
    '.+(){}|$^/',
    '%2A',
    ':::',
  ];

  it('makes every tricky string match itself and only itself', () => {
    const others = [...tricky, 'a', 'b', 'user:1', 'abc', 'x]y', 'xy', 'z', ' ', 'aa'];
    for (const text of tricky) {
      const re = globToRegExp(escapeGlob(text));
      expect(re.test(text)).toBe(true);
      for (const other of others) {
        if (other !== text)
          expect({ text, other, matched: re.test(other) }).toEqual({ text, other, matched: false });
      }
      // It also names exactly one key, so backends may skip the scan.
      expect(isLiteralGlob(escapeGlob(text))).toBe(true);
    }
  });

  it('means the same to Redis: the escaped string matches only itself there too', () => {
    const ascii = tricky.filter((t) => t !== '' && /^[\x20-\x7e]*$/.test(t));
    for (const text of ascii) {
      const glob = escapeGlob(text);
      expect(redisMatch(glob, text)).toBe(true);
      for (const other of ascii) {
        if (other !== text) expect(redisMatch(glob, other)).toBe(false);
      }
    }
  });

  it('escapes exactly the glob metacharacters', () => {
    expect(escapeGlob('a*b?c[d]e\\f')).toBe('a\\*b\\?c\\[d\\]e\\\\f');
    expect(escapeGlob('plain:key-1^{x}')).toBe('plain:key-1^{x}');
  });

  it('keeps a prefix literal in front of a wildcard', () => {
    const re = globToRegExp(`${escapeGlob('ns[1]*')}:*`);
    expect(re.test('ns[1]*:user:1')).toBe(true);
    expect(re.test('ns1x:user:1')).toBe(false);
    expect(re.test('ns[1]abc:user:1')).toBe(false);
  });
});

describe('isLiteralGlob', () => {
  it.each<[string, boolean]>([
    ['', true],
    ['user:1', true],
    ['user:1:profile', true],
    ['a\\*b', true],
    ['a\\?b', true],
    ['a\\[b]', true], // an unopened "]" is an ordinary character
    ['a]', true],
    ['^-', true],
    ['a\\\\', true],
    ['*', false],
    ['user:*', false],
    ['a?', false],
    ['[ab]', false],
    ['a[', false],
    ['a\\\\*', false], // an escaped backslash, then a real "*"
    ['\\**', false],
  ])('isLiteralGlob(%p) is %p', (glob, literal) => {
    expect(isLiteralGlob(glob)).toBe(literal);
  });

  it('agrees with globToRegExp: a literal glob matches exactly its unescaped text', () => {
    for (const glob of ['a\\*b', 'x\\[1\\]', 'plain', 'a\\\\', 'q\\?']) {
      expect(isLiteralGlob(glob)).toBe(true);
      const unescaped = glob.replace(/\\([\s\S])/g, '$1');
      expect(matches(glob, unescaped)).toBe(true);
    }
  });
});
