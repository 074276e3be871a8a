/**
 * How a backend whose keys live on several independent servers (a Redis Cluster: each master
 * serves its own slots) tells the tier which server a key is on, so that the tier keeps one
 * circuit breaker per server and a dead one does not shut the healthy ones out. A backend (or the
 * byte store under one) that has such servers defines a method under this symbol returning the
 * scope function (or undefined when it has a single server). This file imports nothing.
 */
export const BREAKER_SCOPE: unique symbol = Symbol('nest-tiered-cache.breakerScope');

/** Names the server a key is on (a Redis Cluster master's `host:port`); undefined when unknown. */
export type BreakerScope = (key: string) => string | undefined;

interface MaybeScoped {
  [BREAKER_SCOPE]?: () => BreakerScope | undefined;
  store?: unknown;
}

/** The breaker scope of a backend or of the byte store under it; undefined for one server. */
export function breakerScopeOf(backend: unknown): BreakerScope | undefined {
  for (const candidate of [backend, (backend as MaybeScoped | undefined)?.store]) {
    if (typeof candidate !== 'object' || candidate === null) continue;
    const offer = (candidate as MaybeScoped)[BREAKER_SCOPE];
    if (typeof offer === 'function') return offer.call(candidate);
  }
  return undefined;
}
