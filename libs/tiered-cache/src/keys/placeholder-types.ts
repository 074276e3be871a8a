/**
 * The types a key template may give a placeholder (`{id:int}`, `{id:uuid}`, `{slug:str}`). A typed
 * placeholder turns every spelling of one value into one canonical text, so that aliases of a
 * resource (`/products/01`, `/products/001`) share the key that its invalidation removes; a value
 * that is not of the type gives `undefined`, and the call then bypasses the cache.
 */
export const PLACEHOLDER_TYPES = {
  /**
   * An integer, in canonical decimal: a string of digits with an optional leading `-` (the rule of
   * Nest's `ParseIntPipe`; leading zeros dropped, `-0` is `0`), a safe-integer number, or a bigint.
   */
  int: canonicalInt,
  /** A UUID (8-4-4-4-12 hex digits, any case), lower-cased. */
  uuid: (value: unknown): string | undefined =>
    typeof value === 'string' && UUID.test(value) ? value.toLowerCase() : undefined,
  /** A string, as it is (a query value given twice is an array and is refused). */
  str: (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined),
} as const satisfies Record<string, (value: unknown) => string | undefined>;

/** A placeholder type's name. */
export type PlaceholderType = keyof typeof PLACEHOLDER_TYPES;

/** Whether `name` is a known placeholder type. */
export function isPlaceholderType(name: string): name is PlaceholderType {
  return Object.prototype.hasOwnProperty.call(PLACEHOLDER_TYPES, name);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INTEGER = /^-?\d+$/;

function canonicalInt(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? String(value + 0) : undefined;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'string' || !INTEGER.test(value)) return undefined;
  const negative = value.startsWith('-');
  let start = negative ? 1 : 0;
  while (start < value.length - 1 && value[start] === '0') start++;
  const digits = value.slice(start);
  return negative && digits !== '0' ? `-${digits}` : digits;
}
