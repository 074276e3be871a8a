import type { LoggerService } from '@nestjs/common';
import type { CacheBackend, MaybePromise } from '../interfaces/cache-backend.interface.js';

/** What a backend's factory is given besides its own resolved settings. */
export interface BackendContext {
  /** Which tier the backend serves; also the option path of its options (`'local'`, `'shared'`). */
  readonly role: 'local' | 'shared';
  /** The tier's deadline of one call, in ms (a backend may use it for the commands of a bulk operation). */
  readonly timeoutMs: number;
  /** The cache's clock, in epoch ms. */
  readonly clock: () => number;
  /** The cache's logger (never log values). */
  readonly logger: LoggerService;
  /** The root namespace: every key the cache stores starts with `<namespace>:`. */
  readonly namespace?: string;
}

/**
 * A built-in backend, described once in its own file: its name, the option keys it accepts
 * besides the common ones (`backend`, `ttl`, `timeout`, `required`), how it validates and resolves
 * them (at bootstrap, once), and how it is built from the result. `BUILT_IN_BACKENDS` lists them.
 */
export interface BackendDefinition<Options extends object = never, Settings = unknown> {
  /** The `backend:` name that selects it. */
  readonly name: string;
  /** Its own option keys; any other key (besides the common ones) is refused at bootstrap. */
  readonly options: readonly string[];
  /** Default deadline of one call, in ms; without it, 250 ms for a shared tier and 1 s for a local one. */
  readonly defaultTimeoutMs?: number;
  /**
   * Validates the tier's options and resolves them (durations in ms, defaults applied). Throws an
   * `E_INVALID_OPTION` (or `E_INVALID_DURATION`) error naming `<path>.<option>` and what to do.
   */
  resolve(options: Options, path: string): Settings;
  /** Builds the backend from its resolved settings (may import optional peers on demand). */
  create(settings: Settings, context: BackendContext): MaybePromise<CacheBackend>;
}

/** Declares a backend; an identity function that only checks and infers the types. */
export function defineBackend<Options extends object, Settings>(
  definition: BackendDefinition<Options, Settings>,
): BackendDefinition<Options, Settings> {
  return definition;
}

/** Default `maxEntries` of the backends that bound their entry count. */
export const DEFAULT_MAX_ENTRIES = 10_000;
