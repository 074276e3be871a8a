/**
 * What a backend tells its tier about the servers behind it, when it knows more than "one store":
 * which server a key is on (a Redis Cluster: each master serves its own slots), so that the tier
 * keeps one circuit breaker per server and a dead one does not shut the healthy ones out; and when
 * it (re)connected or learned a new topology (a reconnection, a failover through Sentinel, a new
 * cluster slot map), so that the invalidations the tier missed are replayed at once rather than
 * at the next backoff step. A backend (or the byte store under one) offers this by defining a
 * method under {@link STORE_TOPOLOGY}. This file imports nothing.
 */
export const STORE_TOPOLOGY: unique symbol = Symbol('nest-tiered-cache.storeTopology');

/** Names the server a key is on (a Redis Cluster master's `host:port`); undefined when unknown. */
export type BreakerScope = (key: string) => string | undefined;

/** See {@link STORE_TOPOLOGY}. */
export interface StoreTopology {
  /** Which server a key is on; absent for a store on one server. */
  readonly scopeOf?: BreakerScope;
  /**
   * Calls `listener` each time the store (re)connected or refreshed its topology, with `changed`
   * true when it may now be another server than before (a reconnection, a failover, a new slot
   * map): what it acknowledged last may be lost (see `recent-changes.ts`). Returns the function
   * that stops it.
   */
  readonly onChange?: (listener: (changed: boolean) => void) => () => void;
}

interface MaybeTopology {
  [STORE_TOPOLOGY]?: () => StoreTopology;
  store?: unknown;
}

/** The topology a backend, or the byte store under it, offers; empty when it offers none. */
export function storeTopologyOf(backend: unknown): StoreTopology {
  for (const candidate of [backend, (backend as MaybeTopology | undefined)?.store]) {
    if (typeof candidate !== 'object' || candidate === null) continue;
    const offer = (candidate as MaybeTopology)[STORE_TOPOLOGY];
    if (typeof offer === 'function') return offer.call(candidate);
  }
  return {};
}
