import { createHash } from 'node:crypto';
import { CacheError, CacheErrorCode } from '../cache.errors.js';
import { typedText } from './value-encoding.js';

/** Separator between the parts of a key (`<namespace>:<key>`, `user:<id>`). */
export const KEY_SEPARATOR = ':';

/** Longest encoded value that is kept readable in a key; longer ones are replaced by a hash. */
export const MAX_KEY_PART_LENGTH = 128;

/** Starts the encoding of a value that is not a string, number, bigint or boolean (`!null`, `!%5B1%5D`). */
export const TYPED_MARKER = '!';

/** The empty string, told apart from an absent value (`undefined`, which encodes as nothing). */
const EMPTY_STRING = '!""';

/** Starts a hashed value: `#` and the 43-character base64url SHA-256. */
export const HASH_MARKER = '#';

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const HAS_LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** `%00` ... `%FF`. */
const HEX = Array.from(
  { length: 256 },
  (_, b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
);
/** Domain bytes of {@link hashKey}: neither can occur in UTF-8, so the three inputs never meet. */
const ILL_FORMED = Buffer.of(0xff);
const TYPED = Buffer.of(0xfe);

/**
 * Encodes one value substituted into a key (a route param, a method argument), so that it can
 * neither forge another key nor widen a pattern, or returns `undefined` when the value cannot be
 * keyed (see {@link typedText}: a function, a symbol, a cycle...; the call then bypasses the cache).
 *
 * - `undefined` (an absent value) is nothing, and the empty string is `!""`.
 * - A string keeps its text, with every unsafe character (`% # ! : * ? [ ] \ { }`, white space,
 *   controls) percent-encoded per UTF-8 byte, and each lone surrogate as the three `%XX` of its
 *   WTF-8 bytes (`\ud800` is `%ED%A0%80`, which no well-formed text encodes to).
 * - A finite number (not `-0`), a bigint or a boolean is its canonical text (`42`, `1.5`, `true`),
 *   the same as the string of that text: `user:{id}` names one entry whether id is the route's
 *   string `'42'` or a method's number `42`.
 * - Anything else is `!` and its escaped {@link typedText}: `!null`, `!NaN`, `!-0`,
 *   `!%5B"red","shoes"%5D`, `!Set(1,2)`; no string encodes like it (a string's `!` is escaped).
 * - An encoding longer than {@link MAX_KEY_PART_LENGTH} becomes `#` and a SHA-256 of the value
 *   (a string's raw text, or a typed text under another domain byte). Long inputs are hashed
 *   without being escaped first: the work is one linear pass.
 *
 * The result contains no glob metacharacter, so it is the same in a stored key and in a pattern.
 */
export function tryEncodeKeyPart(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return value === '' ? EMPTY_STRING : encodeText(value);
    case 'undefined':
      return '';
    case 'number':
      if (Number.isFinite(value) && !Object.is(value, -0)) return encodeText(String(value));
      break;
    case 'bigint':
      return encodeText(value.toString());
    case 'boolean':
      return value ? 'true' : 'false';
    case 'symbol':
    case 'function':
      return undefined;
  }
  const typed = typedText(value);
  if (typed === undefined) return undefined;
  if (typed.length < MAX_KEY_PART_LENGTH) {
    const encoded = TYPED_MARKER + escapeKeyText(typed);
    if (encoded.length <= MAX_KEY_PART_LENGTH) return encoded;
  }
  return HASH_MARKER + hashDigest(TYPED, typed, 'utf16le');
}

/**
 * {@link tryEncodeKeyPart} for callers that build keys by hand: throws `E_INVALID_KEY` (naming the
 * kind of value, never its content) when the value cannot be keyed. A string never throws.
 */
export function encodeKeyPart(value: unknown): string {
  const encoded = tryEncodeKeyPart(value);
  if (encoded !== undefined) return encoded;
  throw new CacheError(
    CacheErrorCode.E_INVALID_KEY,
    `a value of type ${typeof value} cannot be part of a cache key (a function, a symbol, a cycle, a promise, an error, a proxy, or a value too deep or too large); build the key from its identifying fields`,
  );
}

function encodeText(text: string): string {
  if (text.length <= MAX_KEY_PART_LENGTH) {
    const encoded = escapeKeyText(text);
    if (encoded.length <= MAX_KEY_PART_LENGTH) return encoded;
  }
  return HASH_MARKER + hashKey(text);
}

/**
 * Percent-encodes the characters a substituted value may not contain raw: glob metacharacters, the
 * separator, `%`, `#` (a hashed value), `!` (a typed value), braces (Redis Cluster hash tags),
 * white space (`\s`), controls, and lone surrogates (UTF-8 cannot carry them: Redis and file names
 * would see U+FFFD). One linear pass, no Buffer; the text itself when nothing needs escaping.
 * Reversible: `decodeURIComponent` gives the text back when it has no lone surrogate.
 */
export function escapeKeyText(text: string): string {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(text) ? text.replace(UNSAFE, escapeMatch) : text;
}

/** No `u` flag: the class works on UTF-16 code units, so that a lone surrogate is one match. */
const UNSAFE =
  /[%#!:*?[\]\\{}\s\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function escapeMatch(c: string): string {
  return percentEncode(c.charCodeAt(0));
}

/**
 * Replaces each lone surrogate by the `%XX` of its WTF-8 bytes, and nothing else, so that a key
 * survives UTF-8 (Redis, file names) without two keys becoming one. Well-formed text is returned
 * as it is. (A raw key that already holds, say, the text `%ED%A0%80` names the same entry as one
 * holding `\ud800`; keys built by templates or {@link encodeKeyPart} never do, as their `%` is escaped.)
 */
export function wellFormedKey(text: string): string {
  return HAS_LONE_SURROGATE.test(text) ? text.replace(LONE_SURROGATE, escapeMatch) : text;
}

/**
 * Base64url SHA-256 of a string: 43 characters, safe in keys, file names and logs. Well-formed text
 * is hashed as UTF-8 (the usual SHA-256 of the text); text with a lone surrogate is hashed as the
 * byte 0xFF then UTF-16LE, so no two strings share an input (UTF-8 would turn both `\ud800` and
 * `\udfff` into U+FFFD).
 */
export function hashKey(text: string): string {
  return HAS_LONE_SURROGATE.test(text)
    ? hashDigest(ILL_FORMED, text, 'utf16le')
    : createHash('sha256').update(text, 'utf8').digest('base64url');
}

/** How a log line names a key: `key#` and the start of its hash, never the key's text. */
export function keyRef(key: string): string {
  return `key#${hashKey(key).slice(0, 12)}`;
}

function hashDigest(domain: Buffer, text: string, encoding: 'utf16le'): string {
  return createHash('sha256').update(domain).update(text, encoding).digest('base64url');
}

/** Joins a namespace and a key into the stored key. */
export function namespacedKey(namespace: string, key: string): string {
  return namespace + KEY_SEPARATOR + key;
}

/**
 * `%XX` per UTF-8 byte of one BMP code unit (ASCII, white space), or per WTF-8 byte of a lone
 * surrogate. (One `%` plus the UTF-16 code in hex would be ambiguous for the non-ASCII white space
 * `\s` matches: U+2028 would give `%2028`, the encoding of " 28".)
 */
function percentEncode(code: number): string {
  if (code < 0x80) return HEX[code]!;
  if (code < 0x800) return HEX[0xc0 | (code >> 6)]! + HEX[0x80 | (code & 0x3f)]!;
  return HEX[0xe0 | (code >> 12)]! + HEX[0x80 | ((code >> 6) & 0x3f)]! + HEX[0x80 | (code & 0x3f)]!;
}
