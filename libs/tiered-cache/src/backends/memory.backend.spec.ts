import { describe, expect, it } from '@jest/globals';
import { CacheError } from '../cache.errors.js';
import type { CacheEntry } from '../interfaces/cache-backend.interface.js';
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
    const backend = new MemoryBackend({ maxEntries: 2 });
    backend.set('a', entry(1, ['t']), 60_000);
    backend.set('a', entry(2, ['u']), 60_000);
    expect(await backend.deleteByTags(['t'])).toBe(0);
    expect(backend.get('a')?.value).toBe(2);
    backend.set('b', entry(3, ['u']), 60_000);
    backend.set('c', entry(4), 60_000);
    expect(await backend.deleteByTags(['u'])).toBe(1);
    expect(backend.get('b')).toBeUndefined();
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
