/*
 * The option types of a Redis tier describe ioredis by shape, not by `import type ... from
 * 'ioredis'`: ioredis is an optional peer, and a published `.d.ts` that imports it does not compile
 * (without `skipLibCheck`) in an application that does not install it. Any ioredis 5 or 6
 * `Redis` or `Cluster` instance, `ClusterNode` and options object fits these types; the Redis
 * backend, the only code that imports ioredis, reads them as the real ioredis types.
 */

/** An ioredis `Redis` or `Cluster` instance (checked at bootstrap to be one). */
export interface RedisClientLike {
  /** The connection state (`'ready'`, `'connecting'`...). */
  readonly status: string;
  /** Reads a key as bytes. */
  getBuffer(key: string): Promise<Buffer | null>;
}

/** A Redis Cluster seed node, as ioredis takes it: `'host:port'`, a port, or `{ host, port }`. */
export type RedisClusterNode = string | number | { host?: string; port?: number };

/**
 * Options handed to ioredis as they are (its `RedisOptions`, or `ClusterOptions` for a cluster);
 * typed as an object so that the cache's types do not need ioredis installed.
 */
export type RedisClientOptions = object;
