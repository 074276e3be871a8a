import { types } from 'node:util';

/** Deepest nesting encoded; a deeper value cannot be keyed. */
export const MAX_VALUE_DEPTH = 32;
/** Most values (containers and leaves) encoded in one value; a larger one cannot be keyed. */
export const MAX_VALUE_NODES = 10_000;
/** Longest typed text produced, in UTF-16 code units; a larger value cannot be keyed. */
export const MAX_VALUE_TEXT = 1 << 20;

interface Budget {
  nodes: number;
  chars: number;
  /** The containers being encoded (the current path), to refuse cycles. */
  readonly open: Set<object>;
}

/**
 * The typed canonical text of a value, or `undefined` when it cannot be keyed safely (a function, a
 * symbol, a cycle, a promise, a weak collection, an error, a proxy, own symbol-keyed fields, or more
 * than {@link MAX_VALUE_DEPTH} levels, {@link MAX_VALUE_NODES} values or {@link MAX_VALUE_TEXT}
 * characters). Distinct values of different types never share a text:
 *
 * - strings are JSON-quoted (`"a"`); numbers are their shortest text, with `-0`, `NaN`, `Infinity`;
 *   bigints end in `n`; `true`, `false`, `null` and `undefined` are spelled out;
 * - arrays are `[a,b]`; plain objects `{"k":v}` with their fields sorted by name;
 * - `Set(...)` and `Map([k,v],...)` list their members sorted by their text;
 * - `Date(<ISO>)` (`Date(NaN)` when invalid), `RegExp("/src/flags")`, `Buffer(<base64>)` and
 *   `<TypedArray>(<base64>)` of the bytes, boxed primitives as `String("a")`, `Number(1)`...;
 * - a class instance with `toJSON` is `Name(<text of toJSON()>)` (ObjectId, Decimal, Luxon...),
 *   any other `Name{"k":v}` by its own enumerable fields. State a class keeps elsewhere (`#private`
 *   fields, closures) is not seen: give such a method an explicit key.
 *
 * The text may contain any character: escape it before it goes into a key.
 */
export function typedText(value: unknown): string | undefined {
  try {
    return text(value, 0, { nodes: 0, chars: 0, open: new Set() });
  } catch {
    return undefined; // a getter or toJSON that throws: the value cannot be keyed
  }
}

function text(value: unknown, depth: number, budget: Budget): string | undefined {
  if (++budget.nodes > MAX_VALUE_NODES || depth > MAX_VALUE_DEPTH) return undefined;
  switch (typeof value) {
    case 'string':
      if (value.length > MAX_VALUE_TEXT) return undefined;
      return counted(JSON.stringify(value), budget);
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return counted(`${value}n`, budget);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
      return 'undefined';
    case 'object':
      if (value === null) return 'null';
      if (budget.open.has(value) || types.isProxy(value)) return undefined;
      budget.open.add(value);
      try {
        return objectText(value, depth, budget);
      } finally {
        budget.open.delete(value);
      }
    default:
      return undefined; // symbol, function
  }
}

function counted(out: string, budget: Budget): string | undefined {
  budget.chars += out.length;
  return budget.chars > MAX_VALUE_TEXT ? undefined : out;
}

function objectText(value: object, depth: number, budget: Budget): string | undefined {
  const inner = depth + 1;
  if (Array.isArray(value)) {
    const items: string[] = [];
    for (let i = 0; i < value.length; i++) {
      const item = text(value[i], inner, budget);
      if (item === undefined) return undefined;
      items.push(item);
    }
    return `[${items.join(',')}]`;
  }
  if (value instanceof Date) {
    const time = value.getTime();
    return `Date(${Number.isNaN(time) ? 'NaN' : value.toISOString()})`;
  }
  if (value instanceof Set) {
    const members = sortedTexts(value, inner, budget);
    return members === undefined ? undefined : `Set(${members})`;
  }
  if (value instanceof Map) {
    const entries = sortedTexts(
      Array.from(value, ([k, v]) => [k, v]),
      inner,
      budget,
    );
    return entries === undefined ? undefined : `Map(${entries})`;
  }
  if (ArrayBuffer.isView(value) || types.isAnyArrayBuffer(value)) return bytesText(value, budget);
  if (value instanceof RegExp) return `RegExp(${JSON.stringify(String(value))})`;
  if (types.isBoxedPrimitive(value)) {
    const primitive = text((value as { valueOf(): unknown }).valueOf(), inner, budget);
    return primitive === undefined ? undefined : `${constructorName(value)}(${primitive})`;
  }
  if (hasHiddenState(value)) return undefined;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return fieldsText(value, inner, budget);
  const name = constructorName(value);
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    const json = text(toJSON.call(value), inner, budget);
    return json === undefined ? undefined : `${name}(${json})`;
  }
  const fields = fieldsText(value, inner, budget);
  return fields === undefined ? undefined : name + fields;
}

/** Objects whose meaning lives in internal slots that cannot be read: never keyed. */
function hasHiddenState(value: object): boolean {
  return (
    types.isPromise(value) ||
    types.isWeakMap(value) ||
    types.isWeakSet(value) ||
    types.isNativeError(value) ||
    value instanceof Error ||
    value instanceof WeakRef ||
    types.isGeneratorObject(value) ||
    types.isMapIterator(value) ||
    types.isSetIterator(value) ||
    types.isKeyObject(value) ||
    types.isCryptoKey(value) ||
    types.isExternal(value) ||
    types.isModuleNamespaceObject(value)
  );
}

function fieldsText(value: object, depth: number, budget: Budget): string | undefined {
  for (const symbol of Object.getOwnPropertySymbols(value))
    if (Object.prototype.propertyIsEnumerable.call(value, symbol)) return undefined;
  const names = Object.keys(value).sort();
  const fields: string[] = [];
  for (const name of names) {
    const field = text((value as Record<string, unknown>)[name], depth, budget);
    if (field === undefined) return undefined;
    fields.push(`${JSON.stringify(name)}:${field}`);
  }
  return `{${fields.join(',')}}`;
}

function sortedTexts(
  members: Iterable<unknown>,
  depth: number,
  budget: Budget,
): string | undefined {
  const texts: string[] = [];
  for (const member of members) {
    const out = text(member, depth, budget);
    if (out === undefined) return undefined;
    texts.push(out);
  }
  return texts.sort().join(',');
}

function bytesText(value: ArrayBufferView | ArrayBufferLike, budget: Budget): string | undefined {
  const bytes = ArrayBuffer.isView(value)
    ? Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    : Buffer.from(value);
  if (Math.ceil(bytes.length / 3) * 4 > MAX_VALUE_TEXT - budget.chars) return undefined;
  const name = Buffer.isBuffer(value) ? 'Buffer' : constructorName(value);
  return counted(`${name}(${bytes.toString('base64')})`, budget);
}

function constructorName(value: object): string {
  const ctor = (Object.getPrototypeOf(value) as { constructor?: unknown } | null)?.constructor;
  return typeof ctor === 'function' && ctor.name !== '' ? ctor.name : 'Object';
}
