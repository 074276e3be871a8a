import { AssertionError } from 'node:assert';
import { inspect, types } from 'node:util';

/**
 * Deep equality that works across realms (Jest runs tests in a VM context, while V8's
 * deserializer builds Dates, Maps and typed arrays in Node's own realm): kinds are told apart with
 * `util.types` and `Array.isArray`, never `instanceof` or prototypes. As with Jest's `toEqual`,
 * an own property whose value is `undefined` counts as absent; class instances compare by their
 * own enumerable properties.
 */
export function deepEqual(actual: unknown, expected: unknown): boolean {
  if (Object.is(actual, expected)) return true;
  if (typeof actual !== 'object' || typeof expected !== 'object') return false;
  if (actual === null || expected === null) return false;
  if (types.isDate(actual) || types.isDate(expected)) {
    return (
      types.isDate(actual) &&
      types.isDate(expected) &&
      Object.is((actual as Date).getTime(), (expected as Date).getTime())
    );
  }
  if (ArrayBuffer.isView(actual) || ArrayBuffer.isView(expected)) {
    if (!ArrayBuffer.isView(actual) || !ArrayBuffer.isView(expected)) return false;
    if (Object.prototype.toString.call(actual) !== Object.prototype.toString.call(expected))
      return false;
    return Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(
      Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength),
    );
  }
  if (types.isMap(actual) || types.isMap(expected)) {
    if (!types.isMap(actual) || !types.isMap(expected) || actual.size !== expected.size)
      return false;
    for (const [key, value] of expected) {
      if (!actual.has(key) || !deepEqual(actual.get(key), value)) return false;
    }
    return true;
  }
  if (types.isSet(actual) || types.isSet(expected)) {
    if (!types.isSet(actual) || !types.isSet(expected) || actual.size !== expected.size)
      return false;
    for (const value of expected) if (!actual.has(value)) return false;
    return true;
  }
  if (Array.isArray(actual) !== Array.isArray(expected)) return false;
  if (Array.isArray(actual) && actual.length !== (expected as unknown[]).length) return false;
  const definedKeys = (o: object) =>
    Object.keys(o).filter((k) => (o as Record<string, unknown>)[k] !== undefined);
  const keys = definedKeys(actual);
  if (keys.length !== definedKeys(expected).length) return false;
  return keys.every((key) =>
    deepEqual((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key]),
  );
}

/** Throws an `AssertionError` unless `actual` deep-equals `expected` (see {@link deepEqual}). */
export function assertEqual(actual: unknown, expected: unknown, what: string): void {
  if (!deepEqual(actual, expected)) {
    throw new AssertionError({
      message: `${what}: expected ${inspect(expected, { depth: 4 })}, got ${inspect(actual, { depth: 4 })}`,
      actual,
      expected,
      operator: 'deepEqual',
    });
  }
}

/** Throws unless `actual` is the very same value as `expected` (`Object.is`). */
export function assertSame(actual: unknown, expected: unknown, what: string): void {
  if (!Object.is(actual, expected)) {
    throw new AssertionError({
      message: `${what}: expected the very same ${inspect(expected, { depth: 2 })}, got ${inspect(actual, { depth: 2 })}`,
      actual,
      expected,
      operator: 'Object.is',
    });
  }
}

/** Throws unless `actual` is a number within `tolerance` of `expected`. */
export function assertClose(
  actual: unknown,
  expected: number,
  tolerance: number,
  what: string,
): void {
  if (typeof actual !== 'number' || Math.abs(actual - expected) > tolerance) {
    throw new AssertionError({
      message: `${what}: expected ${expected} ± ${tolerance}, got ${inspect(actual)}`,
      actual,
      expected,
      operator: 'closeTo',
    });
  }
}

/** Resolves once `promise` rejects with an error whose message contains `text`; throws otherwise. */
export async function assertRejects(
  promise: Promise<unknown>,
  text: string,
  what: string,
): Promise<void> {
  try {
    await promise;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (message.includes(text)) return;
    throw new AssertionError({
      message: `${what}: rejected with "${message}", expected "${text}"`,
    });
  }
  throw new AssertionError({ message: `${what}: resolved, expected a rejection with "${text}"` });
}
