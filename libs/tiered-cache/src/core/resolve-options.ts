import { CacheError, CacheErrorCode } from '../cache.errors.js';
import type {
  CacheModuleOptions,
  TierOptions,
} from '../interfaces/cache-module-options.interface.js';
import { describeValue, parseDuration, parsePositiveDuration } from './duration.js';

/** The built-in backend names. */
export const BACKEND_NAMES = [
  'memory',
  'memory-no-serializer',
  'redis',
  'redis-atomic',
  'filesystem',
  'null',
] as const;

/** Module options after validation: every default applied, every duration in ms. */
export interface ResolvedCacheOptions {
  readonly namespace: string;
  readonly ttlMs: number;
  readonly graceMs: number;
  readonly enabled: boolean;
  readonly local: TierOptions | undefined;
  readonly shared: TierOptions | undefined;
  readonly clock: () => number;
}

const COMMON_KEYS = ['backend', 'ttl', 'timeout', 'required'];
const KNOWN_KEYS: Readonly<Record<(typeof BACKEND_NAMES)[number], readonly string[]>> = {
  memory: [...COMMON_KEYS, 'maxEntries', 'maxBytes'],
  'memory-no-serializer': [...COMMON_KEYS, 'maxEntries'],
  redis: [
    ...COMMON_KEYS,
    'url',
    'client',
    'cluster',
    'sentinel',
    'redisOptions',
    'connectTimeout',
    'maxEntryBytes',
  ],
  'redis-atomic': [
    ...COMMON_KEYS,
    'url',
    'client',
    'cluster',
    'sentinel',
    'redisOptions',
    'connectTimeout',
    'maxEntryBytes',
  ],
  filesystem: [...COMMON_KEYS, 'dir', 'maxEntries', 'pruneInterval', 'maxEntryBytes'],
  null: COMMON_KEYS,
};
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
];
const CONTRACT_METHODS = [
  'get',
  'set',
  'delete',
  'deletePattern',
  'deleteByTags',
  'clear',
  'ping',
  'close',
] as const;

/** A {@link CacheError} for a bad option, naming it. */
export function invalidOption(option: string, reason: string): CacheError {
  return new CacheError(CacheErrorCode.E_INVALID_OPTION, `Invalid option "${option}": ${reason}`);
}

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
  if (options.clock !== undefined && typeof options.clock !== 'function')
    throw invalidOption('clock', 'must be a function returning epoch ms');
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
  const local =
    options.local ?? (options.shared === undefined ? { backend: 'memory' as const } : undefined);
  if (local !== undefined) validateTier(local, 'local');
  if (options.shared !== undefined) validateTier(options.shared, 'shared');
  return {
    namespace,
    ttlMs: options.ttl === undefined ? 60_000 : parsePositiveDuration(options.ttl, 'ttl'),
    graceMs: options.grace === undefined ? 0 : parseDuration(options.grace, 'grace'),
    enabled: options.enabled ?? true,
    local,
    shared: options.shared,
    clock: options.clock ?? Date.now,
  };
}

/** Checks a namespace: printable, no glob metacharacters, not reserved. */
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
  if (namespace.startsWith('__'))
    throw invalidOption(option, 'may not start with "__" (reserved for the cache\'s own keys)');
}

function validateTier(tier: TierOptions, role: 'local' | 'shared'): void {
  if (typeof tier !== 'object' || tier === null)
    throw invalidOption(role, 'must be an object with a "backend"');
  const backend = (tier as { backend?: unknown }).backend;
  if (typeof backend === 'function' || (typeof backend === 'object' && backend !== null)) {
    if (typeof backend === 'object') validateBackendInstance(backend, `${role}.backend`);
  } else if (
    typeof backend !== 'string' ||
    !(BACKEND_NAMES as readonly string[]).includes(backend)
  ) {
    throw invalidOption(
      `${role}.backend`,
      `${describeValue(backend)} is not a backend; use one of ${BACKEND_NAMES.join(', ')}, or a CacheBackend class or instance`,
    );
  } else {
    rejectUnknown(
      tier as unknown as Record<string, unknown>,
      KNOWN_KEYS[backend as (typeof BACKEND_NAMES)[number]],
      `${role}.`,
    );
  }
  if (tier.ttl !== undefined) parsePositiveDuration(tier.ttl, `${role}.ttl`);
  if (tier.timeout !== undefined) parsePositiveDuration(tier.timeout, `${role}.timeout`);
  if (tier.required !== undefined && typeof tier.required !== 'boolean')
    throw invalidOption(`${role}.required`, 'must be a boolean');
  switch (tier.backend) {
    case 'memory':
      positiveInteger(tier.maxEntries, `${role}.maxEntries`);
      positiveInteger(tier.maxBytes, `${role}.maxBytes`);
      break;
    case 'memory-no-serializer':
      positiveInteger(tier.maxEntries, `${role}.maxEntries`);
      break;
    case 'filesystem':
      if (typeof tier.dir !== 'string' || tier.dir.trim() === '')
        throw invalidOption(`${role}.dir`, 'must be a directory path');
      positiveInteger(tier.maxEntries, `${role}.maxEntries`);
      positiveInteger(tier.maxEntryBytes, `${role}.maxEntryBytes`);
      if (tier.pruneInterval !== undefined)
        parsePositiveDuration(tier.pruneInterval, `${role}.pruneInterval`);
      break;
    case 'redis':
    case 'redis-atomic':
      validateRedis(tier, role);
      break;
    default:
      break;
  }
}

function validateRedis(
  tier: Extract<TierOptions, { backend: 'redis' | 'redis-atomic' }>,
  role: string,
): void {
  const given = (['url', 'client', 'cluster', 'sentinel'] as const).filter(
    (k) => tier[k] !== undefined,
  );
  if (given.length !== 1) {
    throw invalidOption(
      role,
      `a ${tier.backend} tier needs exactly one of "url", "client", "cluster" or "sentinel" (got ${given.length === 0 ? 'none' : given.join(', ')})`,
    );
  }
  if (tier.url !== undefined) {
    let url: URL;
    try {
      url = new URL(tier.url);
    } catch {
      throw invalidOption(
        `${role}.url`,
        `${describeValue(tier.url)} is not a URL; expected redis://host:port[/db]`,
      );
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      throw invalidOption(`${role}.url`, `protocol "${url.protocol}" is not redis: or rediss:`);
    }
    if (url.hostname === '') throw invalidOption(`${role}.url`, 'has no host');
    const db = url.pathname.replace(/^\//, '');
    if (db !== '' && !/^\d+$/.test(db))
      throw invalidOption(`${role}.url`, `database "${db}" is not a number`);
  }
  if (
    tier.client !== undefined &&
    (typeof tier.client !== 'object' ||
      tier.client === null ||
      typeof (tier.client as { getBuffer?: unknown }).getBuffer !== 'function')
  ) {
    throw invalidOption(`${role}.client`, 'must be an ioredis Redis or Cluster instance');
  }
  if (tier.cluster !== undefined) {
    if (!Array.isArray(tier.cluster?.nodes) || tier.cluster.nodes.length === 0)
      throw invalidOption(`${role}.cluster.nodes`, 'must be a non-empty array');
    if (tier.backend === 'redis-atomic') {
      throw invalidOption(
        `${role}.cluster`,
        'redis-atomic uses multi-key scripts and needs a single Redis node or Sentinel, not a Cluster',
      );
    }
  }
  if (tier.sentinel !== undefined) {
    if (!Array.isArray(tier.sentinel?.sentinels) || tier.sentinel.sentinels.length === 0)
      throw invalidOption(`${role}.sentinel.sentinels`, 'must be a non-empty array');
    if (typeof tier.sentinel.name !== 'string' || tier.sentinel.name === '')
      throw invalidOption(`${role}.sentinel.name`, 'must name the master');
  }
  if (tier.connectTimeout !== undefined)
    parseDuration(tier.connectTimeout, `${role}.connectTimeout`);
  positiveInteger(tier.maxEntryBytes, `${role}.maxEntryBytes`);
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
export function assertBackend(backend: unknown, option: string): void {
  if (typeof backend !== 'object' || backend === null)
    throw invalidOption(option, 'did not construct an object');
  validateBackendInstance(backend, option);
}

function positiveInteger(value: unknown, option: string): void {
  if (value !== undefined && (!Number.isInteger(value) || (value as number) < 1)) {
    throw invalidOption(option, `${describeValue(value)} must be an integer >= 1`);
  }
}

function rejectUnknown(
  object: Record<string, unknown>,
  known: readonly string[],
  path: string,
): void {
  for (const key of Object.keys(object)) {
    if (!known.includes(key))
      throw invalidOption(`${path}${key}`, `unknown option; known options are ${known.join(', ')}`);
  }
}
