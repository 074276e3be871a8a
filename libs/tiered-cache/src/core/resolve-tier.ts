import type { BackendContext, BackendDefinition } from '../backends/backend-definition.js';
import { BUILT_IN_BACKENDS } from '../backends/built-in-backends.js';
import { NullBackend } from '../backends/null.backend.js';
import type { CacheBackend, MaybePromise } from '../interfaces/cache-backend.interface.js';
import type { TierOptions } from '../interfaces/cache-module-options.interface.js';
import { DEFAULT_BREAKER, type BreakerSettings } from './circuit-breaker.js';
import { describeValue, MAX_TIMER_MS, parsePositiveDuration } from './duration.js';
import { invalidOption, rejectUnknown } from './option-checks.js';

/** The built-in backend names, in the order error messages list them. */
export const BACKEND_NAMES: readonly string[] = BUILT_IN_BACKENDS.map((b) => b.name);

/** Default deadline of one call to a shared tier whose backend names none, in ms. */
const DEFAULT_SHARED_TIMEOUT_MS = 250;
/** Default deadline of one call to a local tier whose backend names none (it can still block), in ms. */
const DEFAULT_LOCAL_TIMEOUT_MS = 1_000;
/** Options every tier accepts, whatever its backend. */
const COMMON_KEYS = ['backend', 'ttl', 'timeout', 'required'];
/** The methods a custom backend must have (`deleteByTags` is optional: see `CacheBackend`). */
const CONTRACT_METHODS = [
  'get',
  'set',
  'delete',
  'deletePattern',
  'clear',
  'ping',
  'close',
] as const;

/** One tier after validation: every duration in ms, every default applied; only building is left. */
export interface ResolvedTier {
  readonly role: 'local' | 'shared';
  /** The backend's name (a custom class: its class name). */
  readonly backend: string;
  /** Longest time an entry lives in this tier, in ms; undefined for no cap. */
  readonly maxTtlMs: number | undefined;
  /** Deadline of one call to this tier, in ms. */
  readonly timeoutMs: number;
  /** Whether this tier being down fails a health check. */
  readonly required: boolean;
  /** When the tier's circuit breaker opens and for how long. */
  readonly breaker: BreakerSettings;
  /** The backend's own resolved options (undefined for a custom backend). */
  readonly settings: unknown;
  /** Builds the backend; with `enabled: false`, a `null` backend. */
  readonly create: (context: BackendContext) => MaybePromise<CacheBackend>;
}

/** Validates one tier's options and resolves them; every problem throws naming `<role>.<option>`. */
export function resolveTier(
  tier: TierOptions,
  role: 'local' | 'shared',
  enabled: boolean,
): ResolvedTier {
  if (typeof tier !== 'object' || tier === null)
    throw invalidOption(role, 'must be an object with a "backend"');
  const { backend: name, settings, create, defaultTimeoutMs } = resolveBackend(tier, role);
  const maxTtlMs =
    tier.ttl === undefined ? undefined : parsePositiveDuration(tier.ttl, `${role}.ttl`);
  const timeoutMs =
    tier.timeout === undefined
      ? (defaultTimeoutMs ??
        (role === 'shared' ? DEFAULT_SHARED_TIMEOUT_MS : DEFAULT_LOCAL_TIMEOUT_MS))
      : parsePositiveDuration(tier.timeout, `${role}.timeout`, MAX_TIMER_MS);
  if (tier.required !== undefined && typeof tier.required !== 'boolean')
    throw invalidOption(`${role}.required`, 'must be a boolean');
  return {
    role,
    backend: name,
    maxTtlMs,
    timeoutMs,
    required: tier.required ?? true,
    breaker: DEFAULT_BREAKER,
    settings,
    create: enabled ? create : () => new NullBackend(),
  };
}

interface BackendChoice {
  readonly backend: string;
  readonly settings: unknown;
  readonly defaultTimeoutMs: number | undefined;
  readonly create: (context: BackendContext) => MaybePromise<CacheBackend>;
}

function resolveBackend(tier: TierOptions, role: 'local' | 'shared'): BackendChoice {
  const backend: unknown = tier.backend;
  if (typeof backend === 'function') {
    const Custom = backend as new (options: TierOptions) => CacheBackend;
    return {
      backend: Custom.name || 'custom',
      settings: undefined,
      defaultTimeoutMs: undefined,
      create: () => {
        const built: unknown = new Custom(tier);
        assertBackend(built, `${role}.backend`);
        return built;
      },
    };
  }
  if (typeof backend === 'object' && backend !== null) {
    validateBackendInstance(backend, `${role}.backend`);
    const instance = backend as CacheBackend;
    return {
      backend: instance.name,
      settings: undefined,
      defaultTimeoutMs: undefined,
      create: () => instance,
    };
  }
  const definition = BUILT_IN_BACKENDS.find((b) => b.name === backend);
  if (definition === undefined) {
    throw invalidOption(
      `${role}.backend`,
      `${describeValue(backend)} is not a backend; use one of ${BACKEND_NAMES.join(', ')}, or a CacheBackend class or instance`,
    );
  }
  return resolveBuiltIn(definition, tier, role);
}

function resolveBuiltIn(
  definition: BackendDefinition<never, unknown>,
  tier: TierOptions,
  role: 'local' | 'shared',
): BackendChoice {
  rejectUnknown(
    tier as unknown as Record<string, unknown>,
    [...COMMON_KEYS, ...definition.options],
    `${role}.`,
  );
  const settings = definition.resolve(tier as never, role);
  return {
    backend: definition.name,
    settings,
    defaultTimeoutMs: definition.defaultTimeoutMs,
    create: (context) => definition.create(settings, context),
  };
}

function validateBackendInstance(backend: object, option: string): void {
  const missing = CONTRACT_METHODS.filter(
    (m) => typeof (backend as Record<string, unknown>)[m] !== 'function',
  );
  if (missing.length > 0)
    throw invalidOption(option, `does not implement CacheBackend (missing ${missing.join(', ')})`);
  if (typeof (backend as { name?: unknown }).name !== 'string')
    throw invalidOption(option, 'has no string "name"');
}

/** Validates a custom backend once it exists (after a class was constructed). */
export function assertBackend(backend: unknown, option: string): asserts backend is CacheBackend {
  if (typeof backend !== 'object' || backend === null)
    throw invalidOption(option, 'did not construct an object');
  validateBackendInstance(backend, option);
}
