import { globText, globTokens, scanPattern, type GlobToken } from '../keys/glob.js';

/**
 * How the Redis backends name what they write. Every key starts with `<namespace>:`:
 *
 * - an entry is its stored key, `<namespace>:<key>`, with `{`, `}` and NUL escaped (`\0(`, `\0)`,
 *   `\0\0`; keys without them, such as every key built by `encodeKeyPart`, are unchanged), so
 *   that no entry key contains a brace;
 * - its bookkeeping is `<name>{<name>}<kind>`, where `<name>` is the escaped entry key (or tag, or
 *   namespace prefix) it belongs to: the braces make it a key no entry can have, and their content
 *   (a Redis Cluster hash tag) puts it in the same hash slot as the entry `<name>`, so that one
 *   script can update an entry and its bookkeeping together on a cluster. Kinds:
 *   - `tags`: the tags of the entry `<name>` and the token of its write (JSON), same TTL as it;
 *   - `tagged`: the tag set of the tag `<name>`: a sorted set of `<token><key>`, scored by the
 *     expiry of that write, pruned on every write and read, expiring with its last member;
 *   - `ver` (`redis-atomic`): the version of the entry `<name>` read by at-least-once
 *     computations in flight; deleted by any invalidation of the entry and by the first
 *     computation that stores its value, it expires after a few minutes (`redis-atomic.store.ts`);
 *   - `lease` (`redis-atomic`): the at-most-once lease of the entry `<name>`;
 *   - `inflight` (`redis-atomic`): the at-least-once computations in flight under the namespace
 *     prefix `<name>` (a sorted set scored by deadline), which pattern, tag and clear
 *     invalidations read to cancel them.
 *
 * Internal keys are told apart from entries by their `{`, so pattern deletes never match them,
 * and `clear()` finds all of them under the namespace prefix.
 */

/** The escape character of `{`, `}` and itself in entry keys. */
const ESCAPE = '\u0000';
const NEEDS_ESCAPE = /[{}\u0000]/;
const ESCAPED = /[{}\u0000]/g;
const ESCAPES: Record<string, string> = {
  '{': '\u0000(',
  '}': '\u0000)',
  '\u0000': '\u0000\u0000',
};
const UNESCAPED = /\u0000([()\u0000])/g;
const UNESCAPES: Record<string, string> = { '(': '{', ')': '}', '\u0000': '\u0000' };

/** The kinds of bookkeeping keys (see the module comment). */
export type InternalKind = 'tags' | 'tagged' | 'ver' | 'lease' | 'inflight';

/** Length of the random tokens that prefix tag set members and versions (base64url of 8 bytes). */
export const TOKEN_LENGTH = 11;

/** The Redis key of a stored key (`<namespace>:<key>`): itself unless it holds a brace or NUL. */
export function redisKeyOf(stored: string): string {
  return NEEDS_ESCAPE.test(stored) ? stored.replace(ESCAPED, escapeChar) : stored;
}

/** The stored key of an entry's Redis key, or undefined for a bookkeeping key (it has a `{`). */
export function storedKeyOf(redisKey: string): string | undefined {
  if (redisKey.includes('{')) return undefined;
  return redisKey.includes(ESCAPE) ? redisKey.replace(UNESCAPED, unescapeChar) : redisKey;
}

/**
 * The bookkeeping key of `kind` for `name` (an escaped key, tag or prefix). `keyPrefix` is the
 * client's ioredis `keyPrefix`, part of the entry's key as Redis hashes it.
 */
export function internalKey(name: string, kind: InternalKind, keyPrefix = ''): string {
  return `${name}{${keyPrefix}${name}}${kind}`;
}

/** The name and kind of a bookkeeping key, or undefined for an entry key. */
export function parseInternalKey(
  redisKey: string,
): { readonly name: string; readonly kind: string } | undefined {
  const open = redisKey.indexOf('{');
  if (open < 0) return undefined;
  const close = redisKey.indexOf('}', open);
  if (close < 0) return undefined;
  return { name: redisKey.slice(0, open), kind: redisKey.slice(close + 1) };
}

/**
 * The SCAN MATCH pattern for a glob over stored keys: it matches, by bytes, at least the Redis key
 * of every stored key the glob matches (by characters). Like `scanPattern`, and a character that
 * is escaped in Redis keys (`{`, `}`, NUL), or a class that may match one, becomes `*`.
 */
export function redisScanPattern(glob: string): string {
  if (!NEEDS_ESCAPE.test(glob)) return scanPattern(glob);
  const tokens = globTokens(glob).map((token): GlobToken =>
    mayBeEscaped(token) ? { kind: 'any' } : token,
  );
  return scanPattern(globText(tokens));
}

/**
 * The namespace prefix whose `inflight` set an at-least-once computation of `stored` (a stored key,
 * tag, pattern or prefix) registers in: the engine's root namespace when `stored` is under it
 * (named caches included), else the first segment of `stored` (a named cache with a namespace of
 * its own outside the root). Namespaces contain no glob character, so this works on patterns too.
 */
export function inflightPrefix(stored: string, rootPrefix: string | undefined): string {
  if (rootPrefix !== undefined && stored.startsWith(rootPrefix)) return rootPrefix;
  return stored.slice(0, stored.indexOf(':') + 1);
}

/**
 * The `inflight` prefixes an invalidation of `stored` (a pattern, tag or prefix) must read: its
 * own, and the root's as well when the invalidation may reach keys under the root (a named cache
 * whose own namespace is a first segment of the root's).
 */
export function inflightPrefixesOf(stored: string, rootPrefix: string | undefined): string[] {
  const own = inflightPrefix(stored, rootPrefix);
  if (rootPrefix === undefined || own === rootPrefix || !rootPrefix.startsWith(own)) return [own];
  return [own, rootPrefix];
}

function mayBeEscaped(token: GlobToken): boolean {
  if (token.kind === 'char') return NEEDS_ESCAPE.test(token.char);
  if (token.kind !== 'class') return false;
  return (
    token.negate ||
    token.ranges.some(([lo, hi]) => [0, 0x7b, 0x7d].some((code) => lo <= code && code <= hi))
  );
}

function escapeChar(c: string): string {
  return ESCAPES[c]!;
}

function unescapeChar(_: string, c: string): string {
  return UNESCAPES[c]!;
}
