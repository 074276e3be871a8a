import { CacheError, CacheErrorCode } from '../cache.errors.js';

export type { Duration } from '../interfaces/duration.interface.js';

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
/**
 * Longest duration accepted, in ms: 100 years, which is "forever" for a cache. Longer ones would
 * make Redis refuse every write (`PX` past its range, or in exponent notation) and push expiry
 * times past the integers a double holds exactly.
 */
export const MAX_DURATION_MS = 36_500 * 86_400_000;
/**
 * Longest duration a timer can wait, in ms (2^31 - 1, about 24.8 days): Node fires a longer
 * timer after 1 ms. The bound of every option that arms a timer (deadlines, timeouts).
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/**
 * Parses a {@link Duration} into milliseconds (an integer, rounded). Throws a {@link CacheError}
 * with code `E_INVALID_DURATION` naming `option` when the value is not a finite, non-negative
 * duration, or is longer than `maxMs` ({@link MAX_DURATION_MS}; {@link MAX_TIMER_MS} for an option
 * that arms a timer).
 */
export function parseDuration(value: unknown, option: string, maxMs = MAX_DURATION_MS): number {
  const ms = parseAny(value, option);
  if (ms > maxMs) throw invalid(option, value, `must be at most ${describeMax(maxMs)}`);
  return ms;
}

/** Like {@link parseDuration}, but also rejects zero: for TTLs, where 0 would mean "never cached". */
export function parsePositiveDuration(
  value: unknown,
  option: string,
  maxMs = MAX_DURATION_MS,
): number {
  const ms = parseDuration(value, option, maxMs);
  if (ms <= 0) throw invalid(option, value, 'must be greater than zero');
  return ms;
}

function parseAny(value: unknown, option: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw invalid(option, value, 'must be a finite number of seconds >= 0');
    }
    return Math.round(value * 1000);
  }
  if (typeof value === 'string') {
    const text = value.trim();
    if (text !== '' && WHOLE.test(text)) {
      let ms = 0;
      for (const [, amount, unit] of text.matchAll(PART)) ms += Number(amount) * UNIT_MS[unit!]!;
      if (Number.isFinite(ms)) return Math.round(ms);
    }
    throw invalid(option, value, "must look like '500ms', '30s', '5m', '1h30m' or '7d'");
  }
  throw invalid(option, value, "must be a number of seconds or a string such as '5m'");
}

function describeMax(maxMs: number): string {
  return maxMs === MAX_TIMER_MS
    ? "24 days ('24d'): it arms a timer, and Node fires a longer one at once"
    : `${maxMs / 86_400_000} days ('${maxMs / 86_400_000}d')`;
}

function invalid(option: string, value: unknown, reason: string): CacheError {
  return new CacheError(
    CacheErrorCode.E_INVALID_DURATION,
    `Invalid duration for option "${option}": ${describeValue(value)} ${reason}`,
  );
}

/** A value as it appears in an error message; never throws (JSON.stringify does on a bigint or a cycle). */
export function describeValue(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return typeof value === 'bigint' ? `${value}n` : Object.prototype.toString.call(value);
  }
}
