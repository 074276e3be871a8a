import { createHash } from 'node:crypto';

/** Separator between the parts of a key (`<namespace>:<key>`, `user:<id>`). */
export const KEY_SEPARATOR = ':';

/** Longest encoded value that is kept readable in a key; longer ones are replaced by a hash. */
export const MAX_KEY_PART_LENGTH = 128;

/**
 * Characters a substituted value may not contain raw: glob metacharacters, the separator, `%`,
 * `#` (which starts a hashed part, so a value can never pose as the hash of another), controls.
 */
const UNSAFE = /[%#:*?[\]\\{}\s\u0000-\u001f\u007f]/gu;

/**
 * Encodes one value substituted into a key (a route param, a method argument), so that it can
 * neither forge another key nor widen a pattern: `%`, `#`, `:`, glob metacharacters (`* ? [ ] \`),
 * braces, whitespace and control characters are percent-encoded; a value whose encoding is longer
 * than {@link MAX_KEY_PART_LENGTH} becomes `#` plus the base64url SHA-256 of the value.
 * The result is the same in a stored key and in a pattern, and contains no metacharacter.
 */
export function encodeKeyPart(value: unknown): string {
  const text = typeof value === 'string' ? value : stringifyPart(value);
  const encoded = UNSAFE.test(text) ? text.replace(UNSAFE, percentEncode) : text;
  UNSAFE.lastIndex = 0;
  if (encoded.length <= MAX_KEY_PART_LENGTH) return encoded;
  return `#${hashKey(text)}`;
}

/** Base64url SHA-256 of a string: 43 characters, safe in keys, file names and logs. */
export function hashKey(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64url');
}

/** Joins a namespace and a key into the stored key. */
export function namespacedKey(namespace: string, key: string): string {
  return namespace + KEY_SEPARATOR + key;
}

function stringifyPart(value: unknown): string {
  if (value === undefined) return '';
  if (value === null) return 'null';
  if (typeof value === 'object') {
    if (value instanceof Date)
      return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString(); // toISOString throws on an invalid Date
    return (
      JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? ''
    );
  }
  return String(value);
}

/**
 * `%XX` per UTF-8 byte, as `encodeURIComponent` does. (One `%` plus the UTF-16 code in hex would be
 * ambiguous for the non-ASCII whitespace `\s` matches: U+2028 would give `%2028`, the encoding of " 28".)
 */
function percentEncode(c: string): string {
  let out = '';
  for (const byte of Buffer.from(c, 'utf8'))
    out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  return out;
}
