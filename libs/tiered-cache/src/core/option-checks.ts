import { CacheError, CacheErrorCode } from '../cache.errors.js';
import { describeValue } from './duration.js';

/** A {@link CacheError} (`E_INVALID_OPTION`) for a bad option, naming it and the reason. */
export function invalidOption(option: string, reason: string): CacheError {
  return new CacheError(CacheErrorCode.E_INVALID_OPTION, `Invalid option "${option}": ${reason}`);
}

/** Checks an optional integer option is >= 1; throws naming `option` otherwise. */
export function positiveInteger(value: unknown, option: string): number | undefined {
  if (value !== undefined && (!Number.isInteger(value) || (value as number) < 1)) {
    throw invalidOption(option, `${describeValue(value)} must be an integer >= 1`);
  }
  return value as number | undefined;
}

/** Refuses any key of `object` not in `known`, naming it (`<path><key>`) and listing the known ones. */
export function rejectUnknown(
  object: Readonly<Record<string, unknown>>,
  known: readonly string[],
  path: string,
): void {
  for (const key of Object.keys(object)) {
    if (!known.includes(key))
      throw invalidOption(`${path}${key}`, `unknown option; known options are ${known.join(', ')}`);
  }
}
