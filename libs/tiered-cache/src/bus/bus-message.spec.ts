import {
  BUS_MESSAGE_VERSION,
  decodeBusMessage,
  encodeBusMessage,
  isMessageFrom,
  itemSize,
  type BusMessage,
} from './bus-message.js';
import { merge } from './publish-queue.js';

const base = { instanceId: 'i-1', namespace: 'ns' };

describe('bus message encoding', () => {
  it.each<BusMessage['invalidation']>([
    { kind: 'keys', keys: ['ns:a', 'ns:b'] },
    { kind: 'keys', keys: ['ns:a', 'ns:é', 'ns:🙂', 'ns:b'] },
    { kind: 'keys', keys: [] },
    { kind: 'pattern', glob: 'ns:user:*' },
    { kind: 'tags', tags: ['ns:t'] },
    { kind: 'clear', prefix: 'ns:' },
    { kind: 'keys', keys: ['ns:a'], sharedMissed: true },
    { kind: 'tags', tags: ['ns:t'], sharedMissed: true },
  ])('round-trips %j', (invalidation) => {
    expect(decodeBusMessage(encodeBusMessage({ ...base, invalidation }))).toEqual({
      ...base,
      invalidation,
    });
  });

  it('keeps long and non-ASCII strings intact (multi-byte lengths)', () => {
    const key = `ns:${'é'.repeat(300)}:🙂`;
    const message = { ...base, invalidation: { kind: 'keys' as const, keys: [key] } };
    expect(decodeBusMessage(encodeBusMessage(message)).invalidation).toEqual(message.invalidation);
  });

  it('is compact: a one-key message is 19 bytes plus the key', () => {
    const bytes = encodeBusMessage({
      instanceId: 'abcdefgh',
      namespace: 'cache',
      invalidation: { kind: 'keys', keys: ['cache:user:1'] },
    });
    expect(bytes.length).toBe(19 + 'cache:user:1'.length);
    expect(bytes[0]).toBe(BUS_MESSAGE_VERSION);
  });

  it('rejects another version, an unknown kind, truncated and trailing bytes', () => {
    const good = encodeBusMessage({ ...base, invalidation: { kind: 'keys', keys: ['ns:a'] } });
    const other = Buffer.from(good);
    other[0] = BUS_MESSAGE_VERSION + 1;
    expect(() => decodeBusMessage(other)).toThrow(/version 2/);
    const kind = Buffer.from(good);
    kind[1] = 9;
    expect(() => decodeBusMessage(kind)).toThrow(/unknown kind/);
    expect(() => decodeBusMessage(good.subarray(0, good.length - 1))).toThrow(/truncated/);
    expect(() => decodeBusMessage(Buffer.concat([good, Buffer.from([0])]))).toThrow(/trailing/);
    expect(() => decodeBusMessage(Buffer.from([1]))).toThrow(/header/);
  });
});

describe('merge (one tick of publishes into few messages)', () => {
  it('deduplicates keys, tags, globs and prefixes', () => {
    expect(
      merge(
        [
          { kind: 'keys', keys: ['ns:a', 'ns:b'] },
          { kind: 'pattern', glob: 'ns:x*' },
          { kind: 'keys', keys: ['ns:b'] },
          { kind: 'tags', tags: ['ns:t'] },
          { kind: 'pattern', glob: 'ns:x*' },
          { kind: 'clear', prefix: 'ns:users:' },
        ],
        'ns:',
      ),
    ).toEqual([
      { kind: 'keys', keys: ['ns:a', 'ns:b'] },
      { kind: 'tags', tags: ['ns:t'] },
      { kind: 'pattern', glob: 'ns:x*' },
      { kind: 'clear', prefix: 'ns:users:' },
    ]);
  });

  it('lets a clear of the whole namespace replace everything', () => {
    expect(
      merge(
        [
          { kind: 'keys', keys: ['ns:a'] },
          { kind: 'clear', prefix: 'ns:' },
        ],
        'ns:',
      ),
    ).toEqual([{ kind: 'clear', prefix: 'ns:' }]);
  });

  it('splits many keys into messages of at most 1,000 keys', () => {
    const keys = Array.from({ length: 2500 }, (_, i) => `ns:${i}`);
    const messages = merge([{ kind: 'keys', keys }], 'ns:');
    expect(messages.map((m) => (m.kind === 'keys' ? m.keys.length : 0))).toEqual([1000, 1000, 500]);
  });

  it('sends the keys of a tick of writes once each, in one message when they fit', () => {
    const batch = ['ns:a', 'ns:b', 'ns:a', 'ns:c', 'ns:b'].map((key) => ({
      kind: 'keys' as const,
      keys: [key],
    }));
    expect(merge(batch, 'ns:')).toEqual([{ kind: 'keys', keys: ['ns:a', 'ns:b', 'ns:c'] }]);
  });

  it('keeps each message of long keys within about 32 KB, counting UTF-8 bytes', () => {
    // 200 keys of 100 two- or three-byte characters: under 32 K characters, over 32 KB.
    for (const [char, count] of [
      ['k', 400],
      ['é', 200],
      ['日', 200],
    ] as const) {
      const keys = Array.from({ length: count }, (_, i) => `ns:${i}:${char.repeat(100)}`);
      const messages = merge([{ kind: 'keys', keys }], 'ns:');
      expect(messages.length).toBeGreaterThan(1);
      const sent = messages.flatMap((m) => (m.kind === 'keys' ? m.keys : []));
      expect(sent).toEqual(keys);
      for (const m of messages) {
        const items = m.kind === 'keys' ? m.keys : [];
        expect(items.reduce((size, key) => size + itemSize(key), 0)).toBeLessThanOrEqual(32 * 1024);
      }
    }
  });

  it('sends no empty message for a batch whose keys all carry the missed flag', () => {
    expect(merge([{ kind: 'keys', keys: ['ns:a'], sharedMissed: true }], 'ns:')).toEqual([
      { kind: 'keys', keys: ['ns:a'], sharedMissed: true },
    ]);
  });

  it('tells its own messages from their header alone', () => {
    const bytes = encodeBusMessage({
      instanceId: 'me-123',
      namespace: 'ns',
      invalidation: { kind: 'keys', keys: ['ns:a', 'ns:b'] },
    });
    expect(isMessageFrom(bytes, Buffer.from('me-123'))).toBe(true);
    expect(isMessageFrom(bytes, Buffer.from('me-12'))).toBe(false);
    expect(isMessageFrom(bytes, Buffer.from('me-1234'))).toBe(false);
    expect(isMessageFrom(bytes, Buffer.from('other1'))).toBe(false);
    expect(isMessageFrom(bytes.subarray(0, 5), Buffer.from('me-123'))).toBe(false);
    const otherVersion = Buffer.from(bytes);
    otherVersion[0] = 99;
    expect(isMessageFrom(otherVersion, Buffer.from('me-123'))).toBe(false);
  });
});

describe('sharedMissed (the sender could not apply it to Redis)', () => {
  it('is the high bit of the kind byte, and merged apart from the rest', () => {
    const flagged = encodeBusMessage({
      ...base,
      invalidation: { kind: 'keys', keys: ['ns:a'], sharedMissed: true },
    });
    expect(flagged[1]).toBe(0x81);
    expect(
      merge(
        [
          { kind: 'keys', keys: ['ns:a'] },
          { kind: 'keys', keys: ['ns:b'], sharedMissed: true },
          { kind: 'keys', keys: ['ns:c'] },
        ],
        'ns:',
      ),
    ).toEqual([
      { kind: 'keys', keys: ['ns:a', 'ns:c'] },
      { kind: 'keys', keys: ['ns:b'], sharedMissed: true },
    ]);
  });
});
