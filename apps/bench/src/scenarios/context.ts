import type { Child } from '../infra/processes.js';
import type { Profile } from '../profile.js';

/** What every scenario gets from the orchestrator. */
export interface BenchContext {
  readonly profile: Profile;
  /** URL of the bench's own Redis (never the machine's shared one). */
  readonly redisUrl: string;
  /** The autocannon process. */
  readonly load: Child;
  /** Progress lines. */
  log(line: string): void;
}
