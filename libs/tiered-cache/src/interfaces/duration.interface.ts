/** A unit of a {@link Duration} string: milliseconds, seconds, minutes, hours, days. */
export type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd';

/** One `<number><unit>` part of a {@link Duration} string, e.g. `'30s'`. */
export type DurationPart = `${number}${DurationUnit}`;

/**
 * A span of time. A number is seconds (fractions allowed); a string is one to three
 * `<number><unit>` parts with units `ms`, `s`, `m`, `h`, `d`, e.g. `'250ms'`, `'30s'`, `'1h30m'`,
 * `'1d12h30m'`. A literal with another unit (`'5min'`) does not compile; a string read from
 * configuration goes through `duration()`, and every duration is checked at bootstrap.
 */
export type Duration =
  | number
  | DurationPart
  | `${DurationPart}${DurationPart}`
  | `${DurationPart}${DurationPart}${DurationPart}`;
