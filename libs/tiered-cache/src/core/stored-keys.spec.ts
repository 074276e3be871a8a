import { LONGEST_REMEMBERED_KEY, StoredKeys } from './stored-keys.js';
import { storedKey } from '../keys/stored-key.js';

describe('StoredKeys', () => {
  it('gives the namespaced stored form of a key, the same string on every call', () => {
    const keys = new StoredKeys('ns:');
    const first = keys.of('user:1');
    expect(first).toBe('ns:user:1');
    expect(keys.of('user:1')).toBe(first);
    expect(keys.of(`user:${1}`)).toBe(first);
  });

  it('escapes lone surrogates and shortens long keys exactly like storedKey', () => {
    const keys = new StoredKeys('ns:');
    for (const key of [
      'doc:\ud800',
      'doc:\udfff',
      'a'.repeat(2000),
      'é'.repeat(LONGEST_REMEMBERED_KEY + 1),
    ]) {
      expect(keys.of(key)).toBe(`ns:${storedKey(key)}`);
      expect(keys.of(key)).toBe(`ns:${storedKey(key)}`);
    }
  });

  it('keeps at most two generations of keys, and never a key longer than the limit', () => {
    const keys = new StoredKeys('ns:', 4);
    for (let i = 0; i < 100; i++) keys.of(`k${i}`);
    expect(keys.size).toBeLessThanOrEqual(8);
    keys.of('x'.repeat(LONGEST_REMEMBERED_KEY + 1));
    expect(keys.size).toBeLessThanOrEqual(8);
    for (let i = 0; i < 100; i++) expect(keys.of(`k${i}`)).toBe(`ns:k${i}`);
  });

  it('keeps a key used again and again across generation changes', () => {
    const keys = new StoredKeys('ns:', 4);
    const hot = keys.of('hot');
    for (let i = 0; i < 50; i++) {
      keys.of(`cold${i}`);
      expect(keys.of('hot')).toBe(hot);
    }
  });
});
