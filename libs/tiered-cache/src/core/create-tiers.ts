import type { Cluster, Redis } from 'ioredis';
import { InvalidationBus } from '../bus/invalidation-bus.js';
import { CacheError, CacheErrorCode } from '../cache.errors.js';
import { KEY_SEPARATOR } from '../keys/key-encoding.js';
import { busConnectionOf } from './bus-connection.js';
import { readClockOf } from './read-clock.js';
import type { ResolvedCacheOptions, ResolvedTier } from './resolve-options.js';
import { Tier } from './tier.js';
import { TieredCache } from './tiered-cache.js';

/**
 * Builds the backends and tiers of resolved options and returns the engine. Everything was
 * validated and resolved by `resolveOptions`; this only builds. A backend with an optional peer
 * (Redis: ioredis) imports it here, on demand, and a Redis that is down is logged, not fatal.
 */
export async function createTieredCache(options: ResolvedCacheOptions): Promise<TieredCache> {
  const { clock, logger } = options;
  const build = async (tier: ResolvedTier | undefined): Promise<Tier | undefined> => {
    if (tier === undefined) return undefined;
    const { role, timeoutMs } = tier;
    const backend = await tier.create({
      role,
      timeoutMs,
      clock,
      logger,
      namespace: options.namespace,
    });
    return new Tier(
      {
        role,
        backend,
        maxTtlMs: tier.maxTtlMs,
        timeoutMs,
        required: tier.required,
        prefix: options.namespace + KEY_SEPARATOR,
        breaker: tier.breaker,
      },
      logger,
      clock,
    );
  };
  const local = await build(options.local);
  let shared: Tier | undefined;
  try {
    shared = await build(options.shared);
  } catch (err) {
    await local?.close();
    throw err;
  }
  const readClock = readClockOf(clock, options.shareClockReads);
  const engine = new TieredCache(local, shared, clock, logger, options.enabled, readClock);
  try {
    const bus = busFor(options, engine);
    if (bus !== undefined) {
      engine.attachBus(bus);
      await bus.start();
    }
  } catch (err) {
    await engine.close();
    throw err;
  }
  return engine;
}

/**
 * The invalidation bus of an engine, when it has an L1 in front of a shared tier whose backend
 * offers a Redis connection (`redis`, `redis-atomic`: single node, Sentinel or Cluster); undefined when the
 * `bus` option is off or (by default) when the tiers do not allow one. A bus asked for explicitly
 * that cannot work fails bootstrap.
 */
function busFor(options: ResolvedCacheOptions, engine: TieredCache): InvalidationBus | undefined {
  const choice = options.bus;
  if (choice.mode === 'off') return undefined;
  const connection =
    engine.shared === undefined ? undefined : busConnectionOf(engine.shared.backend);
  const explicit = choice.mode === 'on';
  if (engine.local === undefined || connection === undefined) {
    if (!explicit) return undefined;
    throw new CacheError(
      CacheErrorCode.E_INVALID_OPTION,
      'option "bus" needs a local tier in front of a Redis shared tier (redis or redis-atomic); remove "bus" or add the tiers',
    );
  }
  return new InvalidationBus({
    connection: connection as Redis | Cluster,
    namespace: options.namespace,
    tracking: choice.tracking,
    logger: options.logger,
    ...(choice.channel !== undefined ? { channel: choice.channel } : {}),
  });
}
