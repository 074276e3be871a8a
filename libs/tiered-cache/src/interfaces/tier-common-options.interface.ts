import type { Duration } from './duration.interface.js';

/** Options every tier accepts, whatever its backend. */
export interface TierCommonOptions {
  /** Cap on how long an entry lives in this tier (an L1 usually keeps entries shorter than L2). */
  ttl?: Duration;
  /** Deadline for one call to this tier; a slower call counts as an error and becomes a miss. */
  timeout?: Duration;
  /** For health checks: when false, this tier being down reports `degraded` instead of `down`. Default true. */
  required?: boolean;
}
