/**
 * How a shared tier hands the engine the Redis connection its writes go through, so that the
 * invalidation bus publishes on it and turns Redis tracking on for it (with NOLOOP: this instance's
 * own writes are not echoed back). A backend (or the byte store under one) that has such a
 * connection defines a method under this symbol returning it; this file imports nothing, so the
 * engine can ask without loading ioredis.
 */
export const BUS_CONNECTION: unique symbol = Symbol('nest-tiered-cache.busConnection');

/** Something that may offer a bus connection. */
interface MaybeBusCapable {
  [BUS_CONNECTION]?: () => unknown;
  store?: unknown;
}

/**
 * The Redis connection of a backend, or of the byte store under it (an ioredis `Redis` or
 * `Cluster`); undefined when it has none.
 */
export function busConnectionOf(backend: unknown): unknown {
  for (const candidate of [backend, (backend as MaybeBusCapable | undefined)?.store]) {
    if (typeof candidate !== 'object' || candidate === null) continue;
    const offer = (candidate as MaybeBusCapable)[BUS_CONNECTION];
    if (typeof offer === 'function') return offer.call(candidate);
  }
  return undefined;
}
