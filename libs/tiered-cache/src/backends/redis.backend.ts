import { CacheError, CacheErrorCode } from '../cache.errors.js';
import { MAX_TIMER_MS, parseDuration } from '../core/duration.js';
import { invalidOption, positiveInteger } from '../core/option-checks.js';
import type { RedisTierOptions } from './redis-options.js';
import { DEFAULT_MAX_ENTRY_BYTES } from '../serialization/entry-codec.js';
import { defineBackend } from './backend-definition.js';
import type { RedisSettings } from './redis-options.js';

/** Default deadline of one call to a Redis tier, in ms. */
const REDIS_TIMEOUT_MS = 250;
const REDIS_OPTIONS = [
  'url',
  'client',
  'cluster',
  'sentinel',
  'redisOptions',
  'connectTimeout',
  'maxEntryBytes',
] as const;

/**
 * The two Redis backends, `redis` and `redis-atomic`. This file must not import ioredis (an optional
 * peer): the connection and the stores are imported on demand by `create`, from `redis-factory.ts`.
 */
function redisDefinition(name: 'redis' | 'redis-atomic') {
  return defineBackend({
    name,
    options: REDIS_OPTIONS,
    defaultTimeoutMs: REDIS_TIMEOUT_MS,
    resolve(tier: RedisTierOptions, path: string): RedisSettings {
      validateTarget(tier, name, path);
      return {
        atomic: name === 'redis-atomic',
        target: {
          url: tier.url,
          client: tier.client,
          cluster: tier.cluster,
          sentinel: tier.sentinel,
          redisOptions: tier.redisOptions,
        },
        connectTimeoutMs:
          tier.connectTimeout === undefined
            ? 2_000
            : parseDuration(tier.connectTimeout, `${path}.connectTimeout`, MAX_TIMER_MS),
        maxEntryBytes:
          positiveInteger(tier.maxEntryBytes, `${path}.maxEntryBytes`) ?? DEFAULT_MAX_ENTRY_BYTES,
      };
    },
    async create(settings, context) {
      const { openRedisBackend } = await import('./redis-factory.js').catch((err: unknown) => {
        throw missingPeer(err, 'ioredis', `${context.role}.backend`, name) ?? err;
      });
      return openRedisBackend(settings, context);
    },
  });
}

/**
 * `redis`: Redis through ioredis (the `ioredis` peer). Exactly one of `url`, `client`, `cluster` or
 * `sentinel`; `redisOptions`, `connectTimeout` (default '2s'), `maxEntryBytes` (default 64 MiB).
 */
export const redisBackend = redisDefinition('redis');

/** `redis-atomic`: `redis` plus leases and compare-and-set writes; a single node, Sentinel or Cluster. */
export const redisAtomicBackend = redisDefinition('redis-atomic');

/**
 * The error to give when loading a backend failed because an optional peer package is not
 * installed (Node's ERR_MODULE_NOT_FOUND, or MODULE_NOT_FOUND from `require`, naming the
 * package); `undefined` for any other failure, which is rethrown as it is.
 */
export function missingPeer(
  err: unknown,
  peer: string,
  option: string,
  backend: string,
): CacheError | undefined {
  // Read by shape: an error thrown by another realm (a VM context, a worker) is no `instanceof Error`.
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return undefined;
  if (typeof message !== 'string' || !new RegExp(`['"]${peer}['"/]`).test(message))
    return undefined;
  return new CacheError(
    CacheErrorCode.E_INVALID_OPTION,
    `Invalid option "${option}": '${backend}' needs the ${peer} package, which is not installed: install ${peer} for the redis backends (npm install ${peer})`,
    { cause: err },
  );
}

function validateTarget(tier: RedisTierOptions, name: string, path: string): void {
  const given = (['url', 'client', 'cluster', 'sentinel'] as const).filter(
    (k) => tier[k] !== undefined,
  );
  if (given.length !== 1) {
    throw invalidOption(
      path,
      `a ${name} tier needs exactly one of "url", "client", "cluster" or "sentinel" (got ${given.length === 0 ? 'none' : given.join(', ')})`,
    );
  }
  if (tier.url !== undefined) validateUrl(tier.url, `${path}.url`);
  if (
    tier.client !== undefined &&
    (typeof tier.client !== 'object' ||
      tier.client === null ||
      typeof (tier.client as { getBuffer?: unknown }).getBuffer !== 'function')
  ) {
    throw invalidOption(`${path}.client`, 'must be an ioredis Redis or Cluster instance');
  }
  if (tier.cluster !== undefined) {
    if (!Array.isArray(tier.cluster?.nodes) || tier.cluster.nodes.length === 0)
      throw invalidOption(`${path}.cluster.nodes`, 'must be a non-empty array');
  }
  if (tier.sentinel !== undefined) {
    if (!Array.isArray(tier.sentinel?.sentinels) || tier.sentinel.sentinels.length === 0)
      throw invalidOption(`${path}.sentinel.sentinels`, 'must be a non-empty array');
    if (typeof tier.sentinel.name !== 'string' || tier.sentinel.name === '')
      throw invalidOption(`${path}.sentinel.name`, 'must name the master');
  }
}

function validateUrl(value: unknown, option: string): void {
  let url: URL;
  try {
    url = new URL(value as string);
  } catch {
    // Not quoted: a URL carries the password (redis://:password@host), and this message is logged.
    throw invalidOption(
      option,
      `${typeof value === 'string' ? 'the string given' : `a ${typeof value}`} is not a URL; expected redis://[:password@]host:port[/db]`,
    );
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw invalidOption(option, `protocol "${url.protocol}" is not redis: or rediss:`);
  }
  if (url.hostname === '') throw invalidOption(option, 'has no host');
  const db = url.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db))
    throw invalidOption(option, `database "${db}" is not a number`);
}
