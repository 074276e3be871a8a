/**
 * How a shared tier hands the engine the Redis connection its writes go through, so that the
 * invalidation bus publishes on it and turns Redis tracking on for it (with NOLOOP: this instance's
 * own writes are not echoed back). A backend (or the byte store under one) that has such a
 * connection defines a method under this symbol returning it; this file imports nothing, so the
 * engine can ask without loading ioredis.
 */
export const BUS_CONNECTION: unique symbol = Symbol('nest-tiered-cache.busConnection');

/**
 * A backend (or byte store) with a bus connection may also define a method under this symbol: given
 * an entry's tags, true when its write of such an entry has sent the command that replaces the
 * entry on that connection by the time its `set` returns. The bus may then send the write's
 * message right behind that command, without waiting for its answer (Redis runs one connection's
 * commands in order).
 */
export const BUS_WRITE_SENT: unique symbol = Symbol('nest-tiered-cache.busWriteSent');

/** Something that may offer a bus connection. */
interface MaybeBusCapable {
  [BUS_CONNECTION]?: () => unknown;
  [BUS_WRITE_SENT]?: (tags: readonly string[]) => boolean;
  store?: unknown;
}

/** The backend, or the byte store under it, that defines `symbol`, with its method. */
function offerOf(
  backend: unknown,
  symbol: typeof BUS_CONNECTION | typeof BUS_WRITE_SENT,
): { candidate: object; offer: (...args: never[]) => unknown } | undefined {
  for (const candidate of [backend, (backend as MaybeBusCapable | undefined)?.store]) {
    if (typeof candidate !== 'object' || candidate === null) continue;
    const offer = (candidate as MaybeBusCapable)[symbol];
    if (typeof offer === 'function') return { candidate, offer };
  }
  return undefined;
}

/**
 * The Redis connection of a backend, or of the byte store under it (an ioredis `Redis` or
 * `Cluster`); undefined when it has none.
 */
export function busConnectionOf(backend: unknown): unknown {
  const found = offerOf(backend, BUS_CONNECTION);
  return found?.offer.call(found.candidate);
}

/**
 * Whether a write of an entry with `tags` to `backend` has sent its entry's command on the bus
 * connection when `set` returns (see {@link BUS_WRITE_SENT}); false for a backend that does not say.
 */
export function writeSentOf(backend: unknown): (tags: readonly string[]) => boolean {
  const found = offerOf(backend, BUS_WRITE_SENT);
  if (found === undefined) return () => false;
  const { candidate, offer } = found;
  return (tags) => (offer as (tags: readonly string[]) => boolean).call(candidate, tags);
}
