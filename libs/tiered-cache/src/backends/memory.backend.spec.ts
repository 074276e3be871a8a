import { describe, expect, it } from '@jest/globals';
import { CacheError } from '../cache.errors.js';
import type { CacheEntry } from '../interfaces/cache-backend.interface.js';
import { encodeEntry } from '../serialization/entry-codec.js';
import { MemoryNoSerializerBackend } from './memory-no-serializer.backend.js';
import { MemoryBackend } from './memory.backend.js';

const entry = (value: unknown, tags: string[] = []): CacheEntry => ({
  value,
  expiresAt: 1e15,
  staleUntil: 1e15,
  tags,
});

describe('memory backends', () => {
  it('evicts the least recently used entry beyond maxEntries', () => {
    for (const backend of [
      new MemoryBackend({ maxEntries: 3 }),
      new MemoryNoSerializerBackend({ maxEntries: 3 }),
    ]) {
      backend.set('a', entry(1), 60_000);
      backend.set('b', entry(2), 60_000);
      backend.set('c', entry(3), 60_000);
      backend.get('a');
      backend.set('d', entry(4), 60_000);
      expect(backend.get('b')).toBeUndefined();
      expect(backend.get('a')?.value).toBe(1);
      expect(backend.size()).toBe(3);
    }
  });

  it('keeps the encoded bytes under maxBytes, and refuses an entry larger than all of it', () => {
    const backend = new MemoryBackend({ maxEntries: 1000, maxBytes: 10_000 });
    for (let i = 0; i < 20; i++) backend.set(`k${i}`, entry('x'.repeat(1000)), 60_000);
    expect(backend.size()).toBeLessThan(10);
    expect(backend.get('k19')?.value).toBe('x'.repeat(1000));
    expect(() => backend.set('huge', entry('y'.repeat(20_000)), 60_000)).toThrow(CacheError);
    expect(backend.get('huge')).toBeUndefined();
  });

  it('forgets the tags of evicted and overwritten entries', async () => {
    for (const backend of [
      new MemoryBackend({ maxEntries: 2 }),
      new MemoryNoSerializerBackend({ maxEntries: 2 }),
    ]) {
      backend.set('a', entry(1, ['t']), 60_000);
      backend.set('a', entry(2, ['u']), 60_000);
      expect(await backend.deleteByTags(['t'])).toBe(0);
      expect(backend.get('a')?.value).toBe(2);
      backend.set('b', entry(3, ['u']), 60_000);
      backend.set('c', entry(4), 60_000);
      expect(await backend.deleteByTags(['u'])).toBe(1);
      expect(backend.get('b')).toBeUndefined();
    }
  });

  it('counts the encoded envelope plus two bytes per key character against maxBytes', () => {
    const value = { id: 1, name: 'sized' };
    const size = encodeEntry(entry(value)).length + 'k0'.length * 2;
    const backend = new MemoryBackend({ maxEntries: 100, maxBytes: 3 * size });
    for (let i = 0; i < 3; i++) backend.set(`k${i}`, entry(value), 60_000);
    expect(backend.size()).toBe(3);
    backend.set('k3', entry(value), 60_000);
    expect(backend.size()).toBe(3);
    expect(backend.get('k0')).toBeUndefined();
    expect(backend.get('k3')?.value).toEqual(value);
  });

  it('reclaims a dead entry when read once a later write shows the clock went past it', () => {
    const now = 1_700_000_000_000;
    const at = (writtenAt: number, ttlMs: number, tags: string[] = []): CacheEntry => ({
      value: { at: writtenAt },
      expiresAt: writtenAt + ttlMs,
      staleUntil: writtenAt + ttlMs,
      tags,
    });
    for (const backend of [
      new MemoryBackend({ maxEntries: 10 }),
      new MemoryNoSerializerBackend({ maxEntries: 10 }),
    ]) {
      backend.set('short', at(now, 1_000, ['t']), 1_000);
      backend.set('long', at(now, 60_000), 60_000);
      // No later write yet: the backend reads no clock, and leaves judging freshness to the tier.
      expect(backend.get('short')?.value).toEqual({ at: now });
      backend.set('later', at(now + 2_000, 60_000), 60_000);
      expect(backend.size()).toBe(3);
      expect(backend.get('short')).toBeUndefined();
      expect(backend.size()).toBe(2);
      expect(backend.get('long')?.value).toEqual({ at: now });
    }
  });

  it('reports a value it cannot serialize, storing nothing', () => {
    const backend = new MemoryBackend({ maxEntries: 10 });
    expect(() => backend.set('fn', entry({ run: () => 1 }), 60_000)).toThrow(
      expect.objectContaining({ code: 'E_UNSERIALIZABLE' }),
    );
    expect(backend.get('fn')).toBeUndefined();
    const raw = new MemoryNoSerializerBackend({ maxEntries: 10 });
    const value = { run: () => 1 };
    raw.set('fn', entry(value), 60_000);
    expect(raw.get('fn')?.value).toBe(value);
  });
});

describe('memory backend records', () => {
  it('returns the times and tags it was given, and a value of its own to every reader', () => {
    const backend = new MemoryBackend({ maxEntries: 10 });
    const value = { id: 7, tags: ['a', 'b'], nested: { list: [{ n: 1 }] } };
    backend.set('k', { value, expiresAt: 1_000.5, staleUntil: 2_000, tags: ['t:1'] }, 60_000);
    value.nested.list[0]!.n = 99; // the writer's object is not the stored one
    const first = backend.get('k')!;
    expect([first.expiresAt, first.staleUntil, first.tags]).toEqual([1_000.5, 2_000, ['t:1']]);
    const firstValue = first.value as typeof value;
    expect(firstValue).toEqual({ id: 7, tags: ['a', 'b'], nested: { list: [{ n: 1 }] } });
    firstValue.tags.push('c');
    firstValue.nested.list[0]!.n = 2;
    const second = backend.get('k')!.value as typeof value;
    expect(second).toEqual({ id: 7, tags: ['a', 'b'], nested: { list: [{ n: 1 }] } });
    second.nested.list.pop();
    expect(backend.get('k')!.value).toEqual({
      id: 7,
      tags: ['a', 'b'],
      nested: { list: [{ n: 1 }] },
    });
    expect(backend.get('k')!.value).not.toBe(backend.get('k')!.value);
  });

  it('hands out primitives as they are, and rich values as fresh copies', () => {
    const backend = new MemoryBackend({ maxEntries: 10 });
    for (const value of ['text', 42, 4.5, true, null]) {
      backend.set('p', entry(value), 60_000);
      expect(backend.get('p')?.value).toBe(value);
    }
    const rich = { at: new Date(5), map: new Map([['k', 1n]]), bytes: Buffer.from('hi') };
    backend.set('rich', entry(rich), 60_000);
    const copy = backend.get('rich')!.value as typeof rich;
    expect(copy).toEqual(rich);
    copy.map.set('k', 2n);
    expect(backend.get('rich')!.value).toEqual(rich);
    for (const odd of [Number.NaN, -0, undefined]) {
      backend.set('odd', entry(odd), 60_000);
      expect(Object.is(backend.get('odd')?.value, odd)).toBe(true);
    }
  });

  it('keeps "__proto__" keys as plain properties on every read', () => {
    const backend = new MemoryBackend({ maxEntries: 10 });
    const value = JSON.parse('{"__proto__":{"polluted":true},"list":[{"__proto__":1}]}') as object;
    backend.set('k', entry(value), 60_000);
    for (let read = 0; read < 3; read++) {
      const got = backend.get('k')!.value as Record<string, unknown>;
      expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
      expect(Object.keys(got)).toEqual(['__proto__', 'list']);
      expect(JSON.stringify(got)).toBe('{"__proto__":{"polluted":true},"list":[{"__proto__":1}]}');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('memory-no-serializer entries', () => {
  it('keeps the value itself and returns exactly the times and tags it was given', () => {
    const backend = new MemoryNoSerializerBackend({ maxEntries: 20 });
    const value = { id: 1 };
    const cases: Array<Omit<CacheEntry, 'value'>> = [
      { expiresAt: 1_700_000_000_123, staleUntil: 1_700_000_000_123, tags: [] },
      { expiresAt: 1_700_000_000_123, staleUntil: 1_700_000_060_123, tags: [] },
      { expiresAt: 1_700_000_000_123, staleUntil: 1_700_000_000_123, tags: ['t'] },
      { expiresAt: 1_700_000_000_000.5, staleUntil: 1_700_000_000_001, tags: [] },
      { expiresAt: 2 ** 30, staleUntil: 2 ** 30 + 2 ** 31, tags: [] },
      { expiresAt: 0, staleUntil: 2 ** 30 - 1, tags: [] },
      { expiresAt: 2 ** 60, staleUntil: 2 ** 60, tags: [] },
      { expiresAt: 1e15, staleUntil: Number.MAX_VALUE, tags: [] },
    ];
    // Written at time 0 on the cache's clock: each entry is kept until its staleUntil.
    cases.forEach((times, i) => backend.set(`k${i}`, { value, ...times }, times.staleUntil));
    cases.forEach((times, i) => {
      const got = backend.get(`k${i}`)!;
      expect(got.value).toBe(value);
      expect({ expiresAt: got.expiresAt, staleUntil: got.staleUntil, tags: got.tags }).toEqual(
        times,
      );
    });
  });
});
