import type { CacheEntry } from '../interfaces/cache-backend.interface.js';
import { NO_TAGS } from '../serialization/entry-codec.js';

/** Times are kept as `high * SPLIT + low`, two small integers that V8 stores inline (no box). */
const SPLIT = 2 ** 30;
/** Times at or beyond this are kept as given (2^53: beyond it ms are no longer exact). */
const MAX_TIME = Number.MAX_SAFE_INTEGER;

/**
 * An untagged entry kept in 48 bytes (a plain `{ value, expiresAt, staleUntil, tags }` object
 * costs 56, plus 16 for each boxed time): the value, and `expiresAt` as two small integers that
 * V8 stores inline. `staleUntil` is `expiresAt` (no grace).
 */
class CompactEntry implements CacheEntry {
  constructor(
    readonly value: unknown,
    private readonly high: number,
    private readonly low: number,
  ) {}

  get expiresAt(): number {
    return this.high * SPLIT + this.low;
  }

  get staleUntil(): number {
    return this.high * SPLIT + this.low;
  }

  get tags(): readonly string[] {
    return NO_TAGS;
  }
}

/** A {@link CompactEntry} with a grace period: `staleUntil` is `expiresAt + grace`. */
class CompactGraceEntry extends CompactEntry {
  constructor(
    value: unknown,
    high: number,
    low: number,
    private readonly grace: number,
  ) {
    super(value, high, low);
  }

  override get staleUntil(): number {
    return this.expiresAt + this.grace;
  }
}

/**
 * The same entry in its smallest form: a {@link CompactEntry} when it has no tags and its times
 * are whole milliseconds (the usual case), else the entry itself. The value is never copied.
 */
export function compactEntry(entry: CacheEntry): CacheEntry {
  const { expiresAt, staleUntil } = entry;
  if (entry.tags.length !== 0 || !Number.isInteger(expiresAt)) return entry;
  if (expiresAt < 0 || expiresAt >= MAX_TIME) return entry;
  const high = Math.floor(expiresAt / SPLIT);
  const low = expiresAt - high * SPLIT;
  if (staleUntil === expiresAt) return new CompactEntry(entry.value, high, low);
  const grace = staleUntil - expiresAt;
  if (!Number.isInteger(grace) || grace < 0 || grace >= SPLIT) return entry;
  return new CompactGraceEntry(entry.value, high, low, grace);
}
