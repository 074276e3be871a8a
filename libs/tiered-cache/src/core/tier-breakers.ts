import { CircuitBreaker, type BreakerSettings } from './circuit-breaker.js';
import type { BreakerScope } from './store-topology.js';

/** Past this many per-server breakers, closed ones are forgotten (servers come and go). */
const MAX_SCOPED = 64;

/**
 * The circuit breakers of one tier. A backend on one server has one breaker for every call. A
 * backend on several independent servers (a Redis Cluster) gives a {@link BreakerScope}: a call
 * about one key then goes through the breaker of the server that key is on (as the client's slot
 * map says now: after a failover the key's slots name the promoted replica, whose breaker is
 * closed), so a dead master fails fast for its own keys while the others are served. Calls about
 * no key or several (pattern, tag and prefix deletes, multi-key deletes) go through the tier-wide
 * breaker, which key calls do not consult.
 */
export class TierBreakers {
  /** The breaker of calls about no single key, and of every call when there is no scope. */
  readonly whole: CircuitBreaker;
  private readonly scoped = new Map<string, CircuitBreaker>();

  constructor(
    private readonly settings: BreakerSettings & { clock: () => number },
    private readonly onChange: (
      state: 'open' | 'closed',
      cause: unknown,
      scope: string | undefined,
    ) => void,
    private readonly scopeOf: BreakerScope | undefined,
  ) {
    this.whole = new CircuitBreaker(settings, (state, cause) => onChange(state, cause, undefined));
  }

  /** The breaker of a call about `key` (undefined: about no single key). */
  for(key: string | undefined): CircuitBreaker {
    if (key === undefined || this.scopeOf === undefined) return this.whole;
    const scope = this.scopeOf(key);
    if (scope === undefined) return this.whole;
    let breaker = this.scoped.get(scope);
    if (breaker === undefined) {
      if (this.scoped.size >= MAX_SCOPED)
        for (const [name, old] of this.scoped) if (!old.isOpen) this.scoped.delete(name);
      breaker = new CircuitBreaker(this.settings, (state, cause) =>
        this.onChange(state, cause, scope),
      );
      this.scoped.set(scope, breaker);
    }
    return breaker;
  }

  /** Lets every open breaker try again at once (the store reconnected or changed servers). */
  retryNow(): void {
    this.whole.retryNow();
    for (const breaker of this.scoped.values()) breaker.retryNow();
  }

  /** The servers whose breaker is open (empty without scopes). */
  get openScopes(): string[] {
    return [...this.scoped].filter(([, breaker]) => breaker.isOpen).map(([scope]) => scope);
  }
}
