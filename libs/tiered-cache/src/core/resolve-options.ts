import { Logger, type LoggerService } from '@nestjs/common';
import type { CacheModuleOptions } from '../interfaces/cache-module-options.interface.js';
import { describeError } from '../cache.errors.js';
import { parseDuration, parsePositiveDuration } from './duration.js';
import { invalidOption, rejectUnknown } from './option-checks.js';
import { resolveTier, type ResolvedTier } from './resolve-tier.js';

export { invalidOption } from './option-checks.js';
export { assertBackend, BACKEND_NAMES, type ResolvedTier } from './resolve-tier.js';

/**
 * Module options after validation, resolved once at bootstrap: every default applied, every
 * duration in ms, each tier resolved down to how to build its backend. `createTieredCache` builds
 * from this and parses nothing.
 */
export interface ResolvedCacheOptions {
  readonly namespace: string;
  /** Default TTL, in ms. */
  readonly ttlMs: number;
  /** Default grace, in ms. */
  readonly graceMs: number;
  readonly enabled: boolean;
  /** L1; undefined when not configured. */
  readonly local: ResolvedTier | undefined;
  /** L2; undefined when not configured. */
  readonly shared: ResolvedTier | undefined;
  /** The cache's clock, in epoch ms. */
  readonly clock: () => number;
  /** True on the default clock: reads may share one reading of it (`core/read-clock.ts`). */
  readonly shareClockReads: boolean;
  /** The cache's logger: the `logger` option, or Nest's `Logger` with context `TieredCache`. */
  readonly logger: LoggerService;
  /** The invalidation bus: wanted (`'auto'` unless the option was given), its channel and tracking. */
  readonly bus: ResolvedBusChoice;
}

/** The `bus` option, resolved. */
export interface ResolvedBusChoice {
  /** `'auto'`: on when the tiers allow it; `'on'`: asked for (bootstrap fails if impossible); `'off'`. */
  readonly mode: 'auto' | 'on' | 'off';
  readonly channel: string | undefined;
  readonly tracking: boolean;
}

const MODULE_KEYS = [
  'namespace',
  'ttl',
  'grace',
  'local',
  'shared',
  'enabled',
  'logger',
  'clock',
  'isGlobal',
  'metrics',
  'bus',
];

/**
 * Validates module options and applies the defaults, once, at bootstrap. Every problem throws a
 * `CacheError` naming the option and the reason. Backends are not created here.
 */
export function resolveOptions(input: CacheModuleOptions | undefined): ResolvedCacheOptions {
  const options = input ?? {};
  if (typeof options !== 'object' || options === null)
    throw invalidOption('options', 'must be an object');
  rejectUnknown(options as Record<string, unknown>, MODULE_KEYS, '');
  const namespace = options.namespace ?? 'cache';
  validateNamespace(namespace, 'namespace');
  if (options.enabled !== undefined && typeof options.enabled !== 'boolean')
    throw invalidOption('enabled', 'must be a boolean');
  if (options.clock !== undefined) checkClock(options.clock);
  const metrics = options.metrics;
  if (
    metrics !== undefined &&
    typeof metrics !== 'boolean' &&
    (typeof metrics !== 'object' || metrics === null)
  ) {
    throw invalidOption('metrics', 'must be true, false or { registry?, prefix? }');
  }
  if (
    typeof metrics === 'object' &&
    metrics.prefix !== undefined &&
    !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(metrics.prefix)
  ) {
    throw invalidOption(
      'metrics.prefix',
      `${JSON.stringify(metrics.prefix)} is not a valid Prometheus metric name prefix`,
    );
  }
  const logger = options.logger;
  if (
    logger !== undefined &&
    (typeof logger !== 'object' ||
      logger === null ||
      !['log', 'warn', 'error'].every(
        (m) => typeof (logger as unknown as Record<string, unknown>)[m] === 'function',
      ))
  ) {
    throw invalidOption('logger', 'must be a LoggerService (with log, warn and error methods)');
  }
  const enabled = options.enabled ?? true;
  const bus = resolveBusChoice(options.bus, enabled);
  const local =
    options.local ?? (options.shared === undefined ? { backend: 'memory' as const } : undefined);
  return {
    namespace,
    ttlMs: options.ttl === undefined ? 60_000 : parsePositiveDuration(options.ttl, 'ttl'),
    graceMs: options.grace === undefined ? 0 : parseDuration(options.grace, 'grace'),
    enabled,
    local: local === undefined ? undefined : resolveTier(local, 'local', enabled),
    shared:
      options.shared === undefined ? undefined : resolveTier(options.shared, 'shared', enabled),
    clock: options.clock ?? Date.now,
    shareClockReads: options.clock === undefined,
    logger: logger ?? new Logger('TieredCache'),
    bus,
  };
}

/**
 * Checks the `clock` option by reading it once: a function returning the time as a finite number of
 * epoch ms >= 0 (like `Date.now`; fractions are fine). A `Date`, a string or a bigint would turn
 * every expiry computation into nonsense (`date + ttl` concatenates), NaN would expire nothing.
 */
function checkClock(clock: unknown): void {
  const what = 'must be a function returning the time in epoch milliseconds, like Date.now';
  if (typeof clock !== 'function') throw invalidOption('clock', what);
  let now: unknown;
  try {
    now = (clock as () => unknown)();
  } catch (err) {
    throw invalidOption('clock', `${what}; it threw (${describeError(err)})`);
  }
  if (typeof now !== 'number' || !Number.isFinite(now) || now < 0) {
    const got =
      typeof now === 'number'
        ? String(now)
        : now instanceof Date
          ? 'a Date (use () => Date.now())'
          : `a value of type ${now === null ? 'null' : typeof now}`;
    throw invalidOption('clock', `${what}; it returned ${got}`);
  }
}

/** Validates the `bus` option (whether it can work is known once the tiers are built). */
function resolveBusChoice(option: unknown, enabled: boolean): ResolvedBusChoice {
  if (option === undefined || option === true)
    return { mode: enabled ? (option ? 'on' : 'auto') : 'off', channel: undefined, tracking: true };
  if (option === false) return { mode: 'off', channel: undefined, tracking: true };
  if (typeof option !== 'object' || option === null || Array.isArray(option))
    throw invalidOption('bus', 'must be true, false or { channel?, tracking? }');
  rejectUnknown(option as Record<string, unknown>, ['channel', 'tracking'], 'bus.');
  const { channel, tracking } = option as { channel?: unknown; tracking?: unknown };
  if (channel !== undefined && (typeof channel !== 'string' || channel === ''))
    throw invalidOption('bus.channel', 'must be a non-empty string');
  if (tracking !== undefined && typeof tracking !== 'boolean')
    throw invalidOption('bus.tracking', 'must be a boolean');
  return {
    mode: enabled ? 'on' : 'off',
    channel: channel as string | undefined,
    tracking: (tracking as boolean | undefined) ?? true,
  };
}

/** Checks a namespace: printable, well-formed Unicode, no glob metacharacters, not reserved. */
export function validateNamespace(namespace: unknown, option: string): asserts namespace is string {
  if (typeof namespace !== 'string' || namespace === '')
    throw invalidOption(option, 'must be a non-empty string');
  if (namespace.length > 256) throw invalidOption(option, 'must be at most 256 characters');
  if (/[\s*?[\]\\{}\u0000-\u001f]/u.test(namespace)) {
    throw invalidOption(
      option,
      `${JSON.stringify(namespace)} may not contain whitespace, braces or glob characters (* ? [ ] \\)`,
    );
  }
  if (/\p{Cs}/u.test(namespace)) {
    // UTF-8 cannot carry a lone surrogate: Redis and the filesystem would store "a\ud800" and
    // "a\udfff" under the same bytes, so two namespaces would share (and clear) each other's keys.
    throw invalidOption(
      option,
      'may not contain a lone surrogate (a \\ud800-\\udfff character outside a pair): it has no UTF-8 form',
    );
  }
  if (namespace.startsWith('__'))
    throw invalidOption(option, 'may not start with "__" (reserved for the cache\'s own keys)');
}
