import type { TierRole } from './tier.js';

/** The events a cache emits, and what each carries. Keys are the stored (namespaced) keys. */
export interface CacheEventMap {
  /** A read found a fresh value. `cache` is the forFeature name, or 'default'. */
  hit: { cache: string; key: string };
  /** A read found nothing fresh. */
  miss: { cache: string; key: string };
  /** A stale value was served (grace). */
  stale: { cache: string; key: string };
  /** A value was written. */
  set: { cache: string; key: string };
  /** An invalidation: keys, a pattern, tags, or a whole namespace. */
  delete: {
    cache: string;
    keys?: readonly string[];
    pattern?: string;
    tags?: readonly string[];
    prefix?: string;
  };
  /** A tier failed (counted, and served around). Never carries a value. */
  error: { tier: TierRole; backend: string; code: string };
}

/** The name of a cache event. */
export type CacheEventName = keyof CacheEventMap;

type Listener<E extends CacheEventName> = (event: CacheEventMap[E]) => void;

/**
 * A small typed event emitter. `has(event)` is a property read, so the emitting side builds an
 * event object only when someone listens. A listener that throws is isolated from the cache.
 */
export class CacheEvents {
  private readonly listeners: { [E in CacheEventName]: Array<Listener<E>> } = {
    hit: [],
    miss: [],
    stale: [],
    set: [],
    delete: [],
    error: [],
  };
  /** Per event, whether anyone listens. */
  readonly active: Record<CacheEventName, boolean> = {
    hit: false,
    miss: false,
    stale: false,
    set: false,
    delete: false,
    error: false,
  };

  /** Subscribes; returns the unsubscribe function. */
  on<E extends CacheEventName>(event: E, listener: Listener<E>): () => void {
    (this.listeners[event] as Array<Listener<E>>).push(listener);
    this.active[event] = true;
    return () => {
      const list = this.listeners[event] as Array<Listener<E>>;
      const at = list.indexOf(listener);
      if (at !== -1) list.splice(at, 1);
      this.active[event] = list.length > 0;
    };
  }

  /** Delivers an event to its listeners. */
  emit<E extends CacheEventName>(event: E, payload: CacheEventMap[E]): void {
    for (const listener of this.listeners[event] as Array<Listener<E>>) {
      try {
        listener(payload);
      } catch {
        // A listener's failure is its own; the cache goes on.
      }
    }
  }

  /** Drops every listener. */
  clear(): void {
    for (const event of Object.keys(this.listeners) as CacheEventName[]) {
      this.listeners[event].length = 0;
      this.active[event] = false;
    }
  }
}
