import type { LoggerService } from '@nestjs/common';
import type { CacheBackend } from '../interfaces/cache-backend.interface.js';
import type {
  RedisTierOptions,
  TierOptions,
} from '../interfaces/cache-module-options.interface.js';
import { MemoryNoSerializerBackend } from '../backends/memory-no-serializer.backend.js';
import { MemoryBackend } from '../backends/memory.backend.js';
import { NullBackend } from '../backends/null.backend.js';
import { KEY_SEPARATOR } from '../keys/key-encoding.js';
import { DEFAULT_MAX_ENTRY_BYTES } from '../serialization/entry-codec.js';
import { parseDuration } from './duration.js';
import { assertBackend, invalidOption, type ResolvedCacheOptions } from './resolve-options.js';
import { Tier, type TierRole } from './tier.js';
import { TieredCache } from './tiered-cache.js';

const DEFAULT_MAX_ENTRIES = 10_000;
/** Default deadline of one call to a networked tier. */
const DEFAULT_SHARED_TIMEOUT_MS = 250;
/** Default deadline of one call to an in-process tier that can still block (filesystem, custom). */
const DEFAULT_LOCAL_TIMEOUT_MS = 1_000;

/**
 * Creates the backends and tiers described by resolved options and returns the engine. Redis is
 * imported only when a Redis tier is configured (ioredis is an optional peer), and bootstrap waits
 * at most `connectTimeout` for it: a Redis that is down is logged and served around, not fatal.
 */
export async function createTieredCache(
  options: ResolvedCacheOptions,
  logger: LoggerService,
): Promise<TieredCache> {
  const build = async (
    tierOptions: TierOptions | undefined,
    role: TierRole,
  ): Promise<Tier | undefined> => {
    if (tierOptions === undefined) return undefined;
    const backend = options.enabled
      ? await createBackend(tierOptions, role, options, logger)
      : new NullBackend();
    const timeoutMs =
      tierOptions.timeout === undefined
        ? role === 'shared'
          ? DEFAULT_SHARED_TIMEOUT_MS
          : DEFAULT_LOCAL_TIMEOUT_MS
        : parseDuration(tierOptions.timeout, `${role}.timeout`);
    return new Tier(
      {
        role,
        backend,
        maxTtlMs:
          tierOptions.ttl === undefined ? undefined : parseDuration(tierOptions.ttl, `${role}.ttl`),
        timeoutMs,
        required: tierOptions.required ?? true,
        prefix: options.namespace + KEY_SEPARATOR,
      },
      logger,
      options.clock,
    );
  };
  const local = await build(options.local, 'local');
  let shared: Tier | undefined;
  try {
    shared = await build(options.shared, 'shared');
  } catch (err) {
    await local?.close();
    throw err;
  }
  return new TieredCache(local, shared, options.clock, logger, options.enabled);
}

async function createBackend(
  tier: TierOptions,
  role: TierRole,
  options: ResolvedCacheOptions,
  logger: LoggerService,
): Promise<CacheBackend> {
  switch (tier.backend) {
    case 'memory':
      return new MemoryBackend({
        maxEntries: tier.maxEntries ?? DEFAULT_MAX_ENTRIES,
        ...(tier.maxBytes === undefined ? {} : { maxBytes: tier.maxBytes }),
      });
    case 'memory-no-serializer':
      return new MemoryNoSerializerBackend({ maxEntries: tier.maxEntries ?? DEFAULT_MAX_ENTRIES });
    case 'null':
      return new NullBackend();
    case 'filesystem': {
      const { FilesystemBackend } = await import('../backends/filesystem.backend.js');
      try {
        return new FilesystemBackend({
          dir: tier.dir,
          maxEntries: tier.maxEntries ?? DEFAULT_MAX_ENTRIES,
          pruneIntervalMs:
            tier.pruneInterval === undefined
              ? 60_000
              : parseDuration(tier.pruneInterval, `${role}.pruneInterval`),
          maxEntryBytes: tier.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES,
          clock: options.clock,
        });
      } catch (err) {
        throw invalidOption(
          `${role}.dir`,
          `${JSON.stringify(tier.dir)} cannot be used: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    case 'redis':
    case 'redis-atomic':
      return createRedisBackend(tier, role, logger);
    default: {
      const custom = tier.backend;
      const backend = typeof custom === 'function' ? new custom(tier) : custom;
      assertBackend(backend, `${role}.backend`);
      return backend;
    }
  }
}

async function createRedisBackend(
  tier: RedisTierOptions,
  role: TierRole,
  logger: LoggerService,
): Promise<CacheBackend> {
  // One after the other: concurrent dynamic imports of one graph trip up some ESM loaders (Jest's).
  const { openRedisConnection, waitUntilReady } = await import('../backends/redis-connection.js');
  const { RedisBackend } = await import('../backends/redis.backend.js');
  const { RedisAtomicBackend } = await import('../backends/redis-atomic.backend.js');
  const timeoutMs =
    tier.timeout === undefined
      ? DEFAULT_SHARED_TIMEOUT_MS
      : parseDuration(tier.timeout, `${role}.timeout`);
  const connection = openRedisConnection(tier);
  const backendOptions = {
    maxEntryBytes: tier.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES,
    commandTimeoutMs: timeoutMs,
  };
  const backend =
    tier.backend === 'redis-atomic'
      ? new RedisAtomicBackend(connection, backendOptions)
      : new RedisBackend(connection, backendOptions);
  const connectTimeoutMs =
    tier.connectTimeout === undefined
      ? 2_000
      : parseDuration(tier.connectTimeout, `${role}.connectTimeout`);
  if (!(await waitUntilReady(connection.client, connectTimeoutMs))) {
    logger.warn(
      `${role} tier (${backend.name}) is not reachable yet; serving without it until it connects`,
    );
  }
  return backend;
}
