/**
 * What another instance's L1 must evict: keys, a glob, tags, or everything under a prefix. The
 * same shape as the engine's invalidation event; every string is fully namespaced.
 * `sharedMissed`: the sender could not apply it to the shared Redis (a failover, an outage) and
 * replays it there once it can; until then the receivers must not read what it removes from Redis
 * either, so they record it as missed in their own Redis tier (and apply it themselves).
 */
export type BusInvalidation = (
  | { kind: 'keys'; keys: readonly string[] }
  | { kind: 'pattern'; glob: string }
  | { kind: 'tags'; tags: readonly string[] }
  | { kind: 'clear'; prefix: string }
) & { readonly sharedMissed?: boolean };

/** One explicit bus message: who sent it, for which namespace, and what to evict. */
export interface BusMessage {
  /** The sending instance (receivers drop their own messages). */
  readonly instanceId: string;
  /** The root namespace the invalidation belongs to (receivers of other namespaces drop it). */
  readonly namespace: string;
  readonly invalidation: BusInvalidation;
}

/** Version byte of the encoding below; a receiver that meets another version reports a gap. */
export const BUS_MESSAGE_VERSION = 1;

const KIND_CODES = { keys: 1, pattern: 2, tags: 3, clear: 4 } as const;
/** Set in the kind byte of a `sharedMissed` invalidation (an older reader reports a gap). */
const SHARED_MISSED_FLAG = 0x80;

/**
 * Encodes a message (version 1):
 * `version:u8 kind:u8 instanceId:str namespace:str count:uvarint item:str×count`, where `str` is a
 * uvarint byte length followed by UTF-8 bytes; the kind's high bit marks `sharedMissed`. A pattern
 * or clear has one item. A one-key message
 * with an 8-character instance id and a 5-character namespace is 19 bytes plus the key.
 */
export function encodeBusMessage(message: BusMessage): Buffer {
  const { invalidation } = message;
  const items =
    invalidation.kind === 'keys'
      ? invalidation.keys
      : invalidation.kind === 'tags'
        ? invalidation.tags
        : [invalidation.kind === 'pattern' ? invalidation.glob : invalidation.prefix];
  // Byte lengths first (the varint prefixes need them), then the strings written in place.
  const idLength = Buffer.byteLength(message.instanceId);
  const namespaceLength = Buffer.byteLength(message.namespace);
  const lengths = new Array<number>(items.length);
  let size =
    2 +
    varintSize(idLength) +
    idLength +
    varintSize(namespaceLength) +
    namespaceLength +
    varintSize(items.length);
  for (let i = 0; i < items.length; i++) {
    const length = Buffer.byteLength(items[i]!);
    lengths[i] = length;
    size += varintSize(length) + length;
  }
  const out = Buffer.allocUnsafe(size);
  out[0] = BUS_MESSAGE_VERSION;
  out[1] =
    KIND_CODES[invalidation.kind] | (invalidation.sharedMissed === true ? SHARED_MISSED_FLAG : 0);
  let at = 2;
  at = writeString(out, at, message.instanceId, idLength);
  at = writeString(out, at, message.namespace, namespaceLength);
  at = writeVarint(out, at, items.length);
  for (let i = 0; i < items.length; i++) at = writeString(out, at, items[i]!, lengths[i]!);
  return out;
}

/**
 * Decodes a message encoded by {@link encodeBusMessage}; throws (a plain Error naming the defect)
 * on another version, an unknown kind, or truncated or trailing bytes.
 */
export function decodeBusMessage(bytes: Buffer): BusMessage {
  if (bytes.length < 2) throw new Error('bus message shorter than its header');
  if (bytes[0] !== BUS_MESSAGE_VERSION)
    throw new Error(`bus message version ${bytes[0]} (this instance reads ${BUS_MESSAGE_VERSION})`);
  const sharedMissed = (bytes[1]! & SHARED_MISSED_FLAG) !== 0;
  const kind = bytes[1]! & ~SHARED_MISSED_FLAG;
  const reader = { bytes, at: 2 };
  const instanceId = readString(reader);
  const namespace = readString(reader);
  const count = readVarint(reader);
  const single = kind === KIND_CODES.pattern || kind === KIND_CODES.clear;
  if (single && count !== 1) throw new Error(`bus message of kind ${kind} with ${count} items`);
  const items: string[] = [];
  for (let i = 0; i < count; i++) items.push(readString(reader));
  if (reader.at !== bytes.length) throw new Error('bus message has trailing bytes');
  let invalidation: BusInvalidation;
  if (kind === KIND_CODES.keys) invalidation = { kind: 'keys', keys: items };
  else if (kind === KIND_CODES.tags) invalidation = { kind: 'tags', tags: items };
  else if (kind === KIND_CODES.pattern) invalidation = { kind: 'pattern', glob: items[0]! };
  else if (kind === KIND_CODES.clear) invalidation = { kind: 'clear', prefix: items[0]! };
  else throw new Error(`bus message of unknown kind ${kind}`);
  if (sharedMissed) invalidation = { ...invalidation, sharedMissed };
  return { instanceId, namespace, invalidation };
}

/**
 * True when `bytes` is a message of this version sent by `instanceId`: read from its header alone,
 * so that an instance drops its own messages without decoding their keys.
 */
export function isMessageFrom(bytes: Buffer, instanceId: Buffer): boolean {
  if (bytes.length < 3 || bytes[0] !== BUS_MESSAGE_VERSION) return false;
  const reader = { bytes, at: 2 };
  let length: number;
  try {
    length = readVarint(reader);
  } catch {
    return false;
  }
  return (
    length === instanceId.length &&
    reader.at + length <= bytes.length &&
    bytes.compare(instanceId, 0, length, reader.at, reader.at + length) === 0
  );
}

/** Encoded size of one item, in bytes, as the publish queue bounds a message's items. */
export function itemSize(item: string): number {
  return Buffer.byteLength(item) + 2;
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}

function writeVarint(out: Buffer, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 0x80);
  }
  out[at++] = value;
  return at;
}

/** Writes `text` (`length` bytes of UTF-8) with its length before it. */
function writeString(out: Buffer, at: number, text: string, length: number): number {
  at = writeVarint(out, at, length);
  if (length === text.length) {
    // ASCII (as many bytes as UTF-16 units), the usual key: a loop beats Buffer#write's setup.
    for (let i = 0; i < length; i++) out[at + i] = text.charCodeAt(i);
  } else out.write(text, at, length, 'utf8');
  return at + length;
}

interface Reader {
  readonly bytes: Buffer;
  at: number;
}

function readVarint(reader: Reader): number {
  let value = 0;
  let scale = 1;
  for (let shift = 0; shift < 35; shift += 7) {
    if (reader.at >= reader.bytes.length) throw new Error('bus message truncated');
    const byte = reader.bytes[reader.at++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value;
    scale *= 0x80;
  }
  throw new Error('bus message has an overlong length');
}

function readString(reader: Reader): string {
  const length = readVarint(reader);
  const end = reader.at + length;
  if (end > reader.bytes.length) throw new Error('bus message truncated');
  const text = reader.bytes.toString('utf8', reader.at, end);
  reader.at = end;
  return text;
}
