import type { CacheBackend } from '../interfaces/cache-backend.interface.js';
import { byteStoreBackend } from '../serialization/byte-store-backend.js';
import type { BackendContext } from './backend-definition.js';
import { RedisAtomicStore } from './redis-atomic.store.js';
import {
  openRedisConnection,
  resendingOptions,
  waitUntilReady,
  watchAuthentication,
} from './redis-connection.js';
import type { RedisSettings } from './redis-options.js';

export type { RedisSettings } from './redis-options.js';
import { RedisStore } from './redis.store.js';

/**
 * Connects (or adopts the given client) and builds the backend: a Redis byte store under the
 * serializing adapter. Waits at most `connectTimeoutMs` for the connection: a Redis that is down
 * is logged and served around, never fatal. The only module that loads ioredis, on demand.
 */
export async function openRedisBackend(
  settings: RedisSettings,
  context: BackendContext,
): Promise<CacheBackend> {
  const connection = openRedisConnection(settings.target);
  // Each command of a bulk operation gets the tier's own deadline: one timeout per tier.
  const tier = `${context.role} tier (${settings.atomic ? 'redis-atomic' : 'redis'})`;
  const storeOptions = {
    commandTimeoutMs: context.timeoutMs,
    rootPrefix: context.namespace === undefined ? undefined : `${context.namespace}:`,
    warn: (message: string) => context.logger.warn(`${tier}: ${message}`),
  };
  const store = settings.atomic
    ? new RedisAtomicStore(connection, storeOptions)
    : new RedisStore(connection, storeOptions);
  const backend = byteStoreBackend(store, { maxEntryBytes: settings.maxEntryBytes });
  const fixes = resendingOptions(connection.client);
  if (fixes.length > 0) {
    // A given client is never changed behind its owner's back; options given for ours are honoured.
    const whose = connection.owned
      ? 'the connection (with the redisOptions given)'
      : 'the given client';
    context.logger.warn(
      `${tier}: ${whose} may send a command after the cache gave up on it at its deadline, so an old write could land after newer ones; set ${fixes.join(', ')} on it`,
    );
  }
  const authentication = watchAuthentication(connection.client, (code) =>
    context.logger.error(
      `${tier}: Redis refused to authenticate the connection (${code}): check the user and password (in the URL or redisOptions); serving without it, retrying`,
    ),
  );
  const ready = await waitUntilReady(connection.client, settings.connectTimeoutMs);
  // An authentication failure was reported as such; "not reachable" would send one looking elsewhere.
  if (!ready && !authentication.failing) {
    context.logger.warn(`${tier} is not reachable yet; serving without it until it connects`);
  }
  return backend;
}
