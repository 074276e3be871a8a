import type { Profile } from '../profile.js';
import type { CoherenceResult } from '../scenarios/coherence.js';
import type { InvalidationResult } from '../scenarios/invalidation.js';
import type { HttpScenarioResult } from '../scenarios/http.js';
import type { LibraryScenarioResult } from '../scenarios/library.js';
import type { MemoryResult } from '../scenarios/memory.js';
import type { StampedeResult } from '../scenarios/stampede.js';

/** The machine and the versions a run measured. */
export interface Environment {
  readonly date: string;
  readonly node: string;
  readonly cpu: string;
  readonly cores: number;
  readonly os: string;
  readonly redis: string;
  readonly versions: Readonly<Record<string, string>>;
}

/** Everything one run measured (absent scenarios were skipped with --only). */
export interface BenchResults {
  readonly profile: Profile;
  readonly env: Environment;
  readonly durationS: number;
  readonly fastify?: HttpScenarioResult;
  readonly express?: HttpScenarioResult;
  readonly libraryGet?: LibraryScenarioResult;
  readonly l2?: LibraryScenarioResult;
  readonly cluster?: LibraryScenarioResult;
  readonly stampede?: StampedeResult;
  readonly memory?: MemoryResult;
  readonly invalidation?: InvalidationResult;
  readonly coherence?: CoherenceResult;
}
