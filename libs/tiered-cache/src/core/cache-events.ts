import type { CacheEventMap, CacheEventName } from '../interfaces/cache-events.interface.js';

export type { CacheEventMap, CacheEventName };

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
