import { describe, expect, it, jest } from '@jest/globals';
import { createHash } from 'node:crypto';
import { escapeKeyText, hashKey, tryEncodeKeyPart, wellFormedKey } from './key-encoding.js';

const utf8 = (text: string) => Buffer.from(text, 'utf8').toString('hex');
const loneSurrogates = Array.from({ length: 0x800 }, (_, i) => String.fromCharCode(0xd800 + i));

describe('lone surrogates (issue 13, key 6)', () => {
  it('are escaped as the %XX of their WTF-8 bytes, so Redis and file names keep them apart', () => {
    expect(tryEncodeKeyPart('doc\ud800')).toBe('doc%ED%A0%80');
    expect(tryEncodeKeyPart('doc\udfff')).toBe('doc%ED%BF%BF');
    expect(utf8(tryEncodeKeyPart('doc\ud800')!)).not.toBe(utf8(tryEncodeKeyPart('doc\udfff')!));
    expect(tryEncodeKeyPart('\ude00\ud83d')).toBe('%ED%B8%80%ED%A0%BD'); // a reversed pair
    expect(tryEncodeKeyPart('a\ud83d\ude00b')).toBe('a\ud83d\ude00b'); // a real pair stays
    expect(tryEncodeKeyPart(['\ud800'])).toBe('!%5B"%5Cud800"%5D'); // typed text: JSON's \\u escape
  });

  it('all 2,048 give distinct, well-formed encodings that no well-formed string has', () => {
    const encodings = new Set<string>();
    for (const c of loneSurrogates) {
      const encoded = tryEncodeKeyPart(`k${c}`)!;
      expect(Buffer.from(encoded, 'utf8').toString('utf8')).toBe(encoded); // survives UTF-8
      encodings.add(utf8(encoded));
      expect(encoded).toMatch(/^k%ED%[AB][0-9A-F]%[89AB][0-9A-F]$/);
    }
    expect(encodings.size).toBe(0x800);
    // well-formed characters are kept or escaped as their UTF-8 bytes, never as %ED%A0-%ED%BF
    const clashing: number[] = [];
    for (let code = 0; code < 0x10000; code++) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      if (/%ED%[AB]/.test(tryEncodeKeyPart(String.fromCharCode(code))!)) clashing.push(code);
    }
    expect(clashing).toEqual([]);
  });

  it('hashKey keeps texts that differ by a lone surrogate apart (long values are hashed)', () => {
    const long = 'x'.repeat(300);
    const hashes = new Set(loneSurrogates.map((c) => hashKey(long + c)));
    expect(hashes.size).toBe(0x800);
    expect(hashes.has(hashKey(`${long}\ufffd`))).toBe(false);
    expect(tryEncodeKeyPart(`${long}\ud800`)).not.toBe(tryEncodeKeyPart(`${long}\udfff`));
    // well-formed text keeps the plain SHA-256 of its UTF-8
    expect(hashKey('ünï')).toBe(createHash('sha256').update('ünï', 'utf8').digest('base64url'));
  });

  it('wellFormedKey escapes lone surrogates only, for raw keys', () => {
    expect(wellFormedKey('doc:\ud800')).toBe('doc:%ED%A0%80');
    expect(wellFormedKey('doc:\udfff')).toBe('doc:%ED%BF%BF');
    const plain = 'a:*?[x] %20 ü 🚀';
    expect(wellFormedKey(plain)).toBe(plain);
  });
});

describe('encoding cost (issue 13, key 7)', () => {
  it('allocates no Buffer per character and is bounded by the length first', () => {
    const from = jest.spyOn(Buffer, 'from');
    try {
      for (const [c, fits] of [
        ['\u00a0', 21],
        ['*', 42],
        ['\ud800', 14],
      ] as const) {
        // a long value is hashed without being escaped; a short one is escaped, then measured
        expect(tryEncodeKeyPart(c.repeat(100_000))).toMatch(/^#[\w-]{43}$/);
        expect(tryEncodeKeyPart(c.repeat(fits))).toMatch(/^(%[0-9A-F]{2}){42}$/);
        expect(tryEncodeKeyPart(c.repeat(fits + 1))).toMatch(/^#[\w-]{43}$/);
      }
      expect(from).not.toHaveBeenCalled(); // the old escape made one Buffer per unsafe character
    } finally {
      from.mockRestore();
    }
  });

  it('escapes in one linear pass: 200,000 unsafe characters within seconds, not minutes', () => {
    const text = '\u00a0*\ud800:'.repeat(50_000);
    const started = performance.now();
    const escaped = escapeKeyText(text);
    const ms = performance.now() - started;
    expect(escaped.length).toBe(50_000 * (6 + 3 + 9 + 3));
    expect(ms).toBeLessThan(5000); // a quadratic escape would take minutes
  });
});
