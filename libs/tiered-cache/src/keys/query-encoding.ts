import { tryEncodeKeyPart } from './key-encoding.js';

/**
 * The whole query of a request as one key part: `name=value` pairs sorted by name and joined by
 * `&` (`author=jake&limit=20&tag=dragons`), or `undefined` when a value cannot be keyed. It is the
 * `{query}` placeholder of a route key template and the query part of a route's default key.
 *
 * - It reads the parsed query (`request.query`), so spellings of one query give one text: in any
 *   order, `%61` or `a`, `+` or `%20`. An empty or absent query is the empty string.
 * - Names and string values are escaped as {@link tryEncodeKeyPart} escapes a substituted value
 *   (glob characters, `:`, `%`, `#`, `!`, braces, white space), and `&` and `=` are escaped too,
 *   so no value can forge another pair, another key, or widen a pattern. An empty value is
 *   `name=`; a value longer than 128 characters is its SHA-256.
 * - A name given twice or more (`?tag=a&tag=b`, an array of strings) is repeated, in the order the
 *   request gave them (`tag=a&tag=b`); an array of one, an empty array, a nested object
 *   (`?filter[state]=open` with an extended parser) or any other value is its typed form (`!...`),
 *   which no string value can spell, since a string's `!` is escaped.
 */
export function encodeQuery(query: unknown): string | undefined {
  if (query === null || typeof query !== 'object') return '';
  const record = query as Record<string, unknown>;
  const names = Object.keys(record);
  if (names.length === 0) return '';
  if (names.length > 1) names.sort();
  let out = '';
  for (const name of names) {
    const value = record[name];
    if (value === undefined) continue;
    const key = queryText(name);
    if (key === undefined) return undefined;
    if (isRepeated(value)) {
      for (const item of value) {
        const text = queryText(item);
        if (text === undefined) return undefined;
        out += `${out === '' ? '' : '&'}${key}=${text}`;
      }
      continue;
    }
    const text = typeof value === 'string' ? queryText(value) : typedQueryText(value);
    if (text === undefined) return undefined;
    out += `${out === '' ? '' : '&'}${key}=${text}`;
  }
  return out;
}

/** An array of two or more strings: a name the query gave more than once. */
function isRepeated(value: unknown): value is string[] {
  if (!Array.isArray(value) || value.length < 2) return false;
  for (const item of value) if (typeof item !== 'string') return false;
  return true;
}

/** A name or string value: the empty string stays empty (a pair's `=` delimits it). */
function queryText(text: string): string | undefined {
  return text === '' ? '' : pairSafe(tryEncodeKeyPart(text));
}

/** Any other value: its typed key part (`!...`). */
function typedQueryText(value: unknown): string | undefined {
  return pairSafe(tryEncodeKeyPart(value));
}

const PAIR_SYNTAX = /[&=]/g;

/**
 * Escapes `&` and `=`, which key parts keep raw. Injective: a key part never holds `%26` or `%3D`
 * of its own, since every `%` of a value is escaped (`%25`) and `&` and `=` are not otherwise.
 */
function pairSafe(encoded: string | undefined): string | undefined {
  if (encoded === undefined) return undefined;
  PAIR_SYNTAX.lastIndex = 0;
  return PAIR_SYNTAX.test(encoded)
    ? encoded.replace(PAIR_SYNTAX, (c) => (c === '&' ? '%26' : '%3D'))
    : encoded;
}
