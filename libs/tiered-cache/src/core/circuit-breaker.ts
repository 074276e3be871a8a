/** When a tier's circuit opens and for how long (resolved at bootstrap, part of a tier's config). */
export interface BreakerSettings {
  /** Consecutive failures that open the circuit. */
  readonly threshold: number;
  /** How long the circuit stays open before one trial call is let through, in ms. */
  readonly openMs: number;
}

/** The breaker settings of every tier: three failures in a row open it for 2 s. */
export const DEFAULT_BREAKER: BreakerSettings = Object.freeze({ threshold: 3, openMs: 2_000 });

/** Options of {@link CircuitBreaker}. */
export interface CircuitBreakerOptions extends BreakerSettings {
  /** Clock in epoch ms. */
  readonly clock: () => number;
}

/**
 * Stops calling a failing tier for a while. Closed: every call goes through; `threshold`
 * consecutive failures open it. Open: calls are refused until `openMs` passed, then one trial
 * call is allowed (half-open); its success closes the circuit, its failure opens it again.
 * Transitions are reported to `onChange` exactly once each, which is where outages are logged.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private state: 'closed' | 'open' | 'half-open' = 'closed';

  constructor(
    private readonly options: CircuitBreakerOptions,
    private readonly onChange: (state: 'open' | 'closed', cause?: unknown) => void,
  ) {}

  /** True when a call may be made now. */
  allow(): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open' && this.options.clock() - this.openedAt >= this.options.openMs) {
      this.state = 'half-open';
      return true;
    }
    return false;
  }

  /** Records a successful call. */
  success(): void {
    this.failures = 0;
    if (this.state !== 'closed') {
      this.state = 'closed';
      this.onChange('closed');
    }
  }

  /** Records a failed call. */
  failure(cause: unknown): void {
    this.failures++;
    if (
      this.state === 'half-open' ||
      (this.state === 'closed' && this.failures >= this.options.threshold)
    ) {
      const wasClosed = this.state === 'closed';
      this.state = 'open';
      this.openedAt = this.options.clock();
      if (wasClosed) this.onChange('open', cause);
    }
  }

  /** Lets a trial call through at once if open (the store reconnected: no need to wait). */
  retryNow(): void {
    if (this.state === 'open') this.openedAt = -Infinity;
  }

  /** True while calls are being refused or only trialled. */
  get isOpen(): boolean {
    return this.state !== 'closed';
  }
}
