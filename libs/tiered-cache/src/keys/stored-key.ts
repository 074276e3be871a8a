import { CacheError, CacheErrorCode } from '../cache.errors.js';
import { globText, globTokens, type GlobToken } from './glob.js';
import { HASH_MARKER, hashKey, wellFormedKey } from './key-encoding.js';

/** Longest key stored as it is, in UTF-16 code units; a longer one is stored in its long form. */
export const MAX_KEY_LENGTH = 1024;
/** Code units of a long key kept readable in front of its hash (a few less at a safe boundary). */
const HEAD_LENGTH = MAX_KEY_LENGTH - 1;
/** Fewest code units a long key's head keeps (after backing off a split pair and a split `%XX`). */
export const MIN_HEAD_LENGTH = HEAD_LENGTH - 3;
/** Length of the base64url SHA-256 that ends a long key. */
const HASH_LENGTH = 43;
/**
 * Pattern tokens (code points) certain to fall inside a long key's head: a code point is at most
 * two code units, so this many always fit in {@link MIN_HEAD_LENGTH}.
 */
const HEAD_TOKENS = Math.floor(MIN_HEAD_LENGTH / 2);

/**
 * The stored form of a cache key (without the namespace, which stays in front of it):
 *
 * - lone surrogates become the `%XX` of their WTF-8 bytes ({@link wellFormedKey}), so that Redis
 *   and file names, which see UTF-8, keep `doc:\ud800` and `doc:\udfff` apart;
 * - a key of up to {@link MAX_KEY_LENGTH} code units is kept as it is;
 * - a longer one keeps its first 1,020 to 1,023 code units (cut neither inside a surrogate pair nor
 *   inside a `%XX`), then `#` and the SHA-256 of the whole key: `search:user42:…#<43 chars>`.
 *   Patterns that match the key within its head still match it (`search:user42:*`), and
 *   {@link longKeyPattern} reaches the others; tags do not depend on the key's text.
 *
 * A long form is 1,064 to 1,067 code units long, so it can never be the stored form of another key.
 */
export function storedKey(key: string): string {
  const text = wellFormedKey(key);
  if (text.length <= MAX_KEY_LENGTH) return text;
  let end = HEAD_LENGTH;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  const percent = text.lastIndexOf('%', end - 1);
  if (percent >= end - 2) end = percent;
  return text.slice(0, end) + HASH_MARKER + hashKey(key);
}

/**
 * A pattern as it must be matched against stored keys: a lone surrogate written in it becomes its
 * escape, as in {@link storedKey}. (A `?` no longer matches a lone surrogate of a key, which is
 * stored as nine characters.) Throws `E_INVALID_KEY` for a lone surrogate inside a class, which
 * cannot match a stored key.
 */
export function storedPattern(pattern: string): string {
  const escaped = wellFormedKey(pattern);
  if (escaped === pattern) return pattern;
  const tokens = globTokens(pattern);
  for (const token of tokens) {
    if (token.kind === 'class' && wellFormedKey(token.text) !== token.text) {
      throw new CacheError(
        CacheErrorCode.E_INVALID_KEY,
        'a pattern has a lone surrogate inside a [class]; keys hold lone surrogates escaped, so no class can match one',
      );
    }
  }
  return tokens
    .map((token) => (token.kind === 'char' ? wellFormedKey(globText([token])) : globText([token])))
    .join('');
}

/**
 * The extra pattern a pattern delete must also run so that it never misses a long key, or
 * `undefined` when the pattern itself reaches every long key it matches. `prefix` is the escaped
 * namespace prefix (`ns:`), `pattern` the rest ({@link storedPattern}). A long key is stored as its
 * head, `#` and a hash, so a pattern that constrains the key past its head (`search:*:page9`, or a
 * `*` after 510 characters) cannot match the stored form. The extra pattern keeps what the pattern
 * says about the first characters (up to its first `*`, at most 510 of them) and then matches any
 * key ending in `#` and 43 characters: it may also remove other long keys with that beginning,
 * and the rare short key that ends like a hash. That is the safe direction for an invalidation:
 * an entry removed too many is a miss; one removed too few is a stale value served.
 */
export function longKeyPattern(prefix: string, pattern: string): string | undefined {
  const tokens = globTokens(pattern);
  let star = tokens.findIndex((token) => token.kind === 'star');
  if (star === -1) {
    // Without `*` a pattern matches keys of exactly tokens.length code points: at most 2 units each.
    if (tokens.length * 2 <= MAX_KEY_LENGTH) return undefined;
    star = tokens.length;
  } else if (star <= HEAD_TOKENS && tokens.slice(star).every(isStar)) {
    return undefined; // `head*`: matched within the head, so it matches the long form itself
  }
  const head = tokens.slice(0, Math.min(star, HEAD_TOKENS));
  return `${prefix}${globText(head)}*${HASH_MARKER}${'?'.repeat(HASH_LENGTH)}`;
}

function isStar(token: GlobToken): boolean {
  return token.kind === 'star';
}

/**
 * Makes V8 flatten a string built by concatenation (`<namespace>:` + key is a rope of two strings)
 * once, here, rather than on each Map lookup that hashes it: a lookup with a fresh rope costs
 * about 65 ns more (the Map's own path to the hash is slower), and a kept rope keeps its two parts
 * alive. Reading one character is how: it is free on a string that is already flat.
 */
export function flatString(text: string): string {
  text.charCodeAt(0);
  return text;
}
