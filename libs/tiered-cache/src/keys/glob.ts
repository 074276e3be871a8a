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
 * An unterminated `[` is taken literally, as Redis does.
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
      const close = findClassEnd(glob, i + 1);
      if (close === -1) {
        out += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, close);
      let negate = false;
      if (body.startsWith('^')) {
        negate = true;
        body = body.slice(1);
      }
      let cls = '';
      for (let j = 0; j < body.length; j++) {
        let ch = body[j]!;
        if (ch === '\\' && j + 1 < body.length) ch = body[++j]!;
        if (body[j + 1] === '-' && j + 2 < body.length) {
          let hi = body[j + 2]!;
          j += 2;
          if (hi === '\\' && j + 1 < body.length) hi = body[++j]!;
          const [a, b] = ch <= hi ? [ch, hi] : [hi, ch];
          cls += `${escapeClassChar(a)}-${escapeClassChar(b)}`;
        } else {
          cls += escapeClassChar(ch);
        }
      }
      out += cls === '' ? (negate ? '[\\s\\S]' : '(?!)') : `[${negate ? '^' : ''}${cls}]`;
      i = close;
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

function findClassEnd(glob: string, from: number): number {
  for (let j = from; j < glob.length; j++) {
    if (glob[j] === '\\') j++;
    else if (glob[j] === ']') return j;
  }
  return -1;
}

function escapeRegexChar(c: string): string {
  return REGEX_META.test(c) ? `\\${c}` : c;
}

function escapeClassChar(c: string): string {
  return c === ']' || c === '\\' || c === '^' || c === '-' || c === '[' ? `\\${c}` : c;
}
