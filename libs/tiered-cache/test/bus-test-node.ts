import type { LoggerService } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import { defaultRedisOptions, waitUntilReady } from '../src/backends/redis-connection.js';
import type { BusInvalidation } from '../src/bus/bus-message.js';
import type { InvalidationBusOptions } from '../src/bus/bus-options.js';
import { InvalidationBus, type BusGapReason } from '../src/bus/invalidation-bus.js';
import { waitFor } from './wait-for.js';

/** A logger that keeps warnings for assertions and prints nothing. */
export class RecordingLogger implements LoggerService {
  readonly warnings: string[] = [];
  log(): void {}
  error(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}

/** One simulated instance: its engine connection, its bus, and what the bus told it. */
export interface BusNode {
  readonly bus: InvalidationBus;
  readonly connection: Redis;
  readonly received: BusInvalidation[];
  readonly gaps: BusGapReason[];
  readonly logger: RecordingLogger;
  /** Resolves once an invalidation matching `predicate` was received. */
  receive(predicate: (invalidation: BusInvalidation) => boolean, what: string): Promise<void>;
  /** Closes the bus and then the connection. */
  close(): Promise<void>;
}

/** Opens a connection with the library's defaults and starts a bus on it (namespace `ns`). */
export async function startNode(
  url: string,
  options: Partial<InvalidationBusOptions> = {},
  redisOptions: RedisOptions = {},
): Promise<BusNode> {
  const connection = new Redis(url, { ...defaultRedisOptions(), ...redisOptions });
  connection.on('error', () => undefined);
  await waitUntilReady(connection, 2_000);
  const logger = new RecordingLogger();
  const bus = new InvalidationBus({
    connection,
    namespace: 'ns',
    heartbeatMs: 300, // short for fast tests, but above what a loaded machine delays a PING
    publishTimeoutMs: 200,
    logger,
    ...options,
  });
  const received: BusInvalidation[] = [];
  const gaps: BusGapReason[] = [];
  bus.onRemoteInvalidation((invalidation) => received.push(invalidation));
  bus.onGap((reason) => gaps.push(reason));
  await bus.start();
  return {
    bus,
    connection,
    received,
    gaps,
    logger,
    receive: (predicate, what) => waitFor(() => received.some(predicate), what),
    close: async () => {
      await bus.close();
      await closeRedis(connection);
    },
  };
}

/** Closes an ioredis client and resolves once its socket is gone. */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  client.disconnect();
  await ended;
}

/** Whether `invalidation` evicts exactly the key `key` among others. */
export function hasKey(invalidation: BusInvalidation, key: string): boolean {
  return invalidation.kind === 'keys' && invalidation.keys.includes(key);
}
