/**
 * Redis glob patterns (the rules of `SCAN MATCH` and `KEYS`): `*` any run of characters (`:` too),
 * `?` one character, `[abc]` / `[^abc]` / `[a-z]` a class, `\x` the character x itself.
 */

const GLOB_META = /[*?[\]\\]/g;

/** Escapes every glob metacharacter so that `text` matches only itself inside a pattern. */
export function escapeGlob(text: string): string {
  return text.replace(GLOB_META, '\\$&');
}

const REGEX_META = /[.*+?^${}()|[\]\\/]/;

/**
 * Compiles a Redis glob into an anchored RegExp with the same meaning, for in-process backends.
 * An unterminated `[` opens a class that runs to the end of the pattern, as in Redis (so a
 * trailing `[` matches nothing); escape it (`\\[`, see {@link escapeGlob}) to match a literal `[`.
 */
export function globToRegExp(glob: string): RegExp {
  let out = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      out += '[\\s\\S]*';
    } else if (c === '?') {
      out += '[\\s\\S]';
    } else if (c === '\\' && i + 1 < glob.length) {
      out += escapeRegexChar(glob[++i]!);
    } else if (c === '[') {
      // Parsed exactly as Redis's stringmatchlen() does: `\x` is x, `a-z` is a range (ends swapped
      // when reversed; an escaped character never starts one), the first `]` closes the class, and
      // a class left open at the end of the pattern runs to it (`[ab` matches "a" or "b").
      let j = i + 1;
      let negate = false;
      if (glob[j] === '^') {
        negate = true;
        j++;
      }
      let cls = '';
      for (;;) {
        if (glob[j] === '\\' && j + 1 < glob.length) {
          cls += escapeClassChar(glob[++j]!);
        } else if (glob[j] === ']') {
          break;
        } else if (j >= glob.length) {
          j--;
          break;
        } else if (j + 2 < glob.length && glob[j + 1] === '-') {
          const lo = glob[j]!;
          const hi = glob[j + 2]!;
          const [a, b] = lo <= hi ? [lo, hi] : [hi, lo];
          cls += `${escapeClassChar(a)}-${escapeClassChar(b)}`;
          j += 2;
        } else {
          cls += escapeClassChar(glob[j]!);
        }
        j++;
      }
      out += cls === '' ? (negate ? '[\\s\\S]' : '(?!)') : `[${negate ? '^' : ''}${cls}]`;
      i = j;
    } else {
      out += escapeRegexChar(c);
    }
  }
  return new RegExp(`${out}$`, 'u');
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

function escapeRegexChar(c: string): string {
  return REGEX_META.test(c) ? `\\${c}` : c;
}

function escapeClassChar(c: string): string {
  return c === ']' || c === '\\' || c === '^' || c === '-' || c === '[' ? `\\${c}` : c;
}
