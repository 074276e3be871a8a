import { KEY_SEPARATOR } from '../keys/key-encoding.js';
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
    const backend = await tier.create({ role, timeoutMs, clock, logger });
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
  return new TieredCache(local, shared, clock, logger, options.enabled);
}
