/**
 * A span of time. A number is seconds (fractions allowed); a string is one or more
 * `<number><unit>` parts with units `ms`, `s`, `m`, `h`, `d`, e.g. `'250ms'`, `'30s'`, `'1h30m'`, `'7d'`.
 */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}${string}`;
