import { AssertionError } from 'node:assert';
import { assertEqual, assertSame } from './contract-assert.js';
import type { ContractCases } from './contract-cases.js';

/** Field names that reach prototype machinery when assigned with `obj[name] = value`. */
const PROTOTYPE_FIELDS = ['__proto__', 'constructor', 'prototype'] as const;

/**
 * A request body as `JSON.parse` builds it: `__proto__`, `constructor` and `prototype` are own
 * data properties there, not a prototype.
 */
function hostileBody(): Record<string, unknown> {
  return JSON.parse(
    '{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"polluted":true}},"prototype":{"polluted":true},"name":"mallory"}',
  ) as Record<string, unknown>;
}

/**
 * Throws unless `value` is an ordinary object whose prototype is an `Object.prototype` (of any
 * realm: V8's deserializer builds objects in Node's own) and which holds each of `fields` as an
 * own data property equal to `expected[field]`.
 */
function assertPlainWithOwn(value: unknown, expected: Record<string, unknown>, what: string): void {
  if (typeof value !== 'object' || value === null)
    throw new AssertionError({ message: `${what}: expected an object, got ${typeof value}` });
  const proto = Object.getPrototypeOf(value) as object | null;
  if (
    proto === null ||
    Object.getPrototypeOf(proto) !== null ||
    !Object.hasOwn(proto, 'isPrototypeOf')
  )
    throw new AssertionError({ message: `${what}: its prototype was replaced` });
  assertSame((value as { isAdmin?: unknown }).isAdmin, undefined, `${what}: inherited isAdmin`);
  for (const field of PROTOTYPE_FIELDS) {
    const own = Object.getOwnPropertyDescriptor(value, field);
    if (own === undefined || !('value' in own))
      throw new AssertionError({ message: `${what}: "${field}" is not an own data property` });
    assertEqual(own.value, expected[field], `${what}: own "${field}"`);
  }
}

/** Nothing reached the prototype every object of this realm shares. */
function assertNotPolluted(what: string): void {
  const probe = {} as { isAdmin?: unknown; polluted?: unknown };
  assertSame(probe.isAdmin, undefined, `${what}: Object.prototype.isAdmin`);
  assertSame(probe.polluted, undefined, `${what}: Object.prototype.polluted`);
}

/**
 * Hostile values: a JSON-parsed `__proto__`, `constructor` or `prototype` field is an ordinary own
 * data property on every backend, through `set` and `merge` alike: it never replaces the stored
 * object's prototype, never pollutes `Object.prototype`, and is never silently dropped.
 */
export function hostileValueCases({ it, cache, values }: ContractCases): void {
  const stores = values !== 'none';
  it('keeps a JSON-parsed __proto__, constructor and prototype as own data properties (set)', async () => {
    const body = hostileBody();
    await cache().set('body', body);
    // A Date makes the value go through V8's structured clone in serializing tiers.
    await cache().set('rich', { ...body, at: new Date(0) });
    assertNotPolluted('after set');
    if (!stores) return assertSame(await cache().get('body'), undefined, 'get');
    assertPlainWithOwn(await cache().get('body'), body, 'json value');
    assertPlainWithOwn(await cache().get('rich'), body, 'structured-clone value');
  });

  it('merges a JSON-parsed __proto__, constructor and prototype as own data properties', async () => {
    await cache().set('user', { name: 'alice', role: 'user' });
    await cache().set('dated', { name: 'alice', at: new Date(0) });
    const body = hostileBody();
    await cache().merge('user', body);
    await cache().merge('dated', body);
    assertNotPolluted('after merge');
    if (!stores) return assertSame(await cache().get('user'), undefined, 'get');
    const merged = await cache().get<Record<string, unknown>>('user');
    assertPlainWithOwn(merged, body, 'merged json value');
    assertSame(merged!.name, 'mallory', 'merged name');
    assertSame(merged!.role, 'user', 'kept field');
    assertPlainWithOwn(await cache().get('dated'), body, 'merged structured-clone value');
    // Merging again keeps them own data properties (the stored value already has them).
    await cache().merge('user', { role: 'admin?' });
    assertPlainWithOwn(await cache().get('user'), body, 'merged twice');
  });
}
