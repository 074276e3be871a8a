import type { Duration } from './interfaces/duration.interface.js';

/**
 * Types a duration read from configuration (an environment variable, a config file) as a
 * {@link Duration}: `ttl: duration(config.get('CACHE_TTL'))`. A string is not parsed here: like
 * every duration it is checked at bootstrap, where an invalid one (`'5min'`) fails naming its
 * option (`Invalid duration for option "ttl": "5min" must look like '500ms', '30s', '5m'...`).
 * A number is seconds; `undefined` stays `undefined` (the option's default then applies).
 */
export function duration(value: string | number): Duration;
export function duration(value: string | number | undefined): Duration | undefined;
export function duration(value: string | number | undefined): Duration | undefined {
  return value as Duration | undefined;
}
