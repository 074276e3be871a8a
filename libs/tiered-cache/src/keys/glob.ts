/**
 * Redis glob patterns (the syntax of `SCAN MATCH` and `KEYS`): `*` any run of characters (`:` too),
 * `?` one character, `[abc]` / `[^abc]` / `[a-z]` a class, `\x` the character x itself.
 *
 * The library matches them by character (Unicode code point) in every tier. Redis matches bytes,
 * so `city:?` or `city:[üö]` would miss `city:ü` there; the Redis backend therefore scans with
 * {@link scanPattern}, a pattern that matches (by bytes) at least every key the glob matches (by
 * characters), and keeps only the keys that {@link globToRegExp} accepts. One matcher decides for
 * every tier, so L1 and Redis always remove the same keys.
 */

/** One token of a glob: `*`, or one character matched by `?`, a literal, or a class. */
export type GlobToken =
  | { readonly kind: 'star' }
  | { readonly kind: 'any' }
  | { readonly kind: 'char'; readonly char: string }
  | {
      readonly kind: 'class';
      readonly negate: boolean;
      /** Members as inclusive code point ranges (`[a]` is a..a). */
      readonly ranges: ReadonlyArray<readonly [number, number]>;
      /** The class exactly as written, `[` to `]` (or to the end of an unterminated class). */
      readonly text: string;
    };

const GLOB_META = /[*?[\]\\]/g;

/** Escapes every glob metacharacter so that `text` matches only itself inside a pattern. */
export function escapeGlob(text: string): string {
  return text.replace(GLOB_META, '\\$&');
}

/**
 * Splits a glob into tokens, by code point, parsing classes exactly as Redis's `stringmatchlen()`
 * does: `\x` is x, `a-z` is a range (ends swapped when reversed; an escaped character never starts
 * one), the first `]` closes the class, and a class left open runs to the end of the pattern
 * (`[ab` matches "a" or "b"). A trailing lone `\` is a literal backslash.
 */
export function globTokens(glob: string): GlobToken[] {
  const c = Array.from(glob);
  const n = c.length;
  const tokens: GlobToken[] = [];
  for (let i = 0; i < n; i++) {
    const ch = c[i]!;
    if (ch === '*') tokens.push({ kind: 'star' });
    else if (ch === '?') tokens.push({ kind: 'any' });
    else if (ch === '\\' && i + 1 < n) tokens.push({ kind: 'char', char: c[++i]! });
    else if (ch !== '[') tokens.push({ kind: 'char', char: ch });
    else {
      const start = i;
      let j = i + 1;
      const negate = c[j] === '^';
      if (negate) j++;
      const ranges: Array<[number, number]> = [];
      for (;;) {
        if (c[j] === '\\' && j + 1 < n) {
          const code = c[++j]!.codePointAt(0)!;
          ranges.push([code, code]);
        } else if (c[j] === ']') {
          break;
        } else if (j >= n) {
          j--;
          break;
        } else if (j + 2 < n && c[j + 1] === '-') {
          const lo = c[j]!.codePointAt(0)!;
          const hi = c[j + 2]!.codePointAt(0)!;
          ranges.push(lo <= hi ? [lo, hi] : [hi, lo]);
          j += 2;
        } else {
          const code = c[j]!.codePointAt(0)!;
          ranges.push([code, code]);
        }
        j++;
      }
      tokens.push({ kind: 'class', negate, ranges, text: c.slice(start, j + 1).join('') });
      i = j;
    }
  }
  return tokens;
}

/** Writes tokens back as a glob (classes as written, characters escaped where needed). */
export function globText(tokens: readonly GlobToken[]): string {
  let out = '';
  for (const token of tokens) {
    if (token.kind === 'star') out += '*';
    else if (token.kind === 'any') out += '?';
    else if (token.kind === 'char') out += escapeGlob(token.char);
    else out += token.text;
  }
  return out;
}

/**
 * Compiles a glob into an anchored RegExp matching by code point (`?` is one character, `ü` or
 * `🚀` included), for in-process backends and to filter what Redis's SCAN returns.
 */
export function globToRegExp(glob: string): RegExp {
  let out = '^';
  for (const token of globTokens(glob)) {
    if (token.kind === 'star') out += '[\\s\\S]*';
    else if (token.kind === 'any') out += '[\\s\\S]';
    else if (token.kind === 'char') out += regexChar(token.char.codePointAt(0)!);
    else if (token.ranges.length === 0) out += token.negate ? '[\\s\\S]' : '(?!)';
    else {
      const members = token.ranges.map(([lo, hi]) =>
        lo === hi ? regexChar(lo) : `${regexChar(lo)}-${regexChar(hi)}`,
      );
      out += `[${token.negate ? '^' : ''}${members.join('')}]`;
    }
  }
  return new RegExp(`${out}$`, 'u');
}

/**
 * The pattern to give Redis's `SCAN MATCH` for a glob: it matches, by bytes, every key whose
 * characters the glob matches (and maybe more, to be filtered with {@link globToRegExp}). `?`, a
 * negated class and a class with a non-ASCII member become `*` (one character is 1 to 4 bytes);
 * everything else (literals, ASCII classes) is kept, so the scan stays as narrow as it can.
 */
export function scanPattern(glob: string): string {
  let out = '';
  let star = false;
  for (const token of globTokens(glob)) {
    const widen =
      token.kind === 'star' ||
      token.kind === 'any' ||
      (token.kind === 'class' && (token.negate || token.ranges.some(([, hi]) => hi > 0x7f)));
    if (!widen) out += globText([token]);
    else if (!star) out += '*';
    star = widen;
  }
  return out;
}

/** True when `glob` contains no unescaped metacharacter, i.e. it names exactly one key. */
export function isLiteralGlob(glob: string): boolean {
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\') i++;
    else if (c === '*' || c === '?' || c === '[') return false;
  }
  return true;
}

/** A code point as a RegExp atom (in or out of a class) under the `u` flag. */
function regexChar(code: number): string {
  return `\\u{${code.toString(16)}}`;
}
