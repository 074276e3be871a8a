/** Sizes and durations of one bench run. */
export interface Profile {
  readonly name: 'full' | 'quick';
  /** Alternating rounds of the HTTP scenarios. */
  readonly httpRounds: number;
  /** Length of one load run, in seconds. */
  readonly httpSeconds: number;
  /** Load before the first round, per server, in seconds. */
  readonly warmupSeconds: number;
  /** autocannon connections. */
  readonly connections: number;
  /** Alternating rounds of the library scenarios. */
  readonly libraryRounds: number;
  /** Length of one library measurement, in ms. */
  readonly libraryMs: number;
  /** Entries stored by the memory scenario. */
  readonly memoryEntries: number;
  /** Fresh processes per memory contender. */
  readonly memoryRounds: number;
  /** Keys in Redis for the invalidation scenario, and how many of them match. */
  readonly invalidationKeys: number;
  readonly invalidationMatches: number;
  readonly invalidationRounds: number;
  /** Rounds of 200 concurrent cold requests. */
  readonly stampedeRounds: number;
  /** Coherence: alternating rounds of deletes (tracking, pub/sub), and deletes per mode per round. */
  readonly coherenceRounds: number;
  readonly coherenceDeletes: number;
  /** Coherence write cost: alternating rounds, and ms of `set` per bus setting and round. */
  readonly writeRounds: number;
  readonly writeMs: number;
  /** Coherence fan-out: instance counts, rounds, and seconds of writes per count, round and bus setting. */
  readonly fanoutSizes: readonly number[];
  readonly fanoutRounds: number;
  readonly fanoutSeconds: number;
}

/** About 10 minutes on a 2-core machine. */
export const FULL: Profile = {
  name: 'full',
  httpRounds: 5,
  httpSeconds: 4,
  warmupSeconds: 2,
  connections: 50,
  libraryRounds: 5,
  libraryMs: 2_000,
  memoryEntries: 100_000,
  memoryRounds: 3,
  invalidationKeys: 1_000_000,
  invalidationMatches: 10_000,
  invalidationRounds: 3,
  stampedeRounds: 5,
  coherenceRounds: 3,
  coherenceDeletes: 200,
  writeRounds: 240,
  writeMs: 100,
  fanoutSizes: [2, 8, 16],
  fanoutRounds: 3,
  fanoutSeconds: 2,
};

/** The same scenarios and code paths, smaller and shorter: under 2 minutes. */
export const QUICK: Profile = {
  name: 'quick',
  httpRounds: 2,
  httpSeconds: 1,
  warmupSeconds: 0.5,
  connections: 50,
  libraryRounds: 2,
  libraryMs: 300,
  memoryEntries: 20_000,
  memoryRounds: 1,
  invalidationKeys: 100_000,
  invalidationMatches: 1_000,
  invalidationRounds: 1,
  stampedeRounds: 2,
  coherenceRounds: 2,
  coherenceDeletes: 30,
  writeRounds: 6,
  writeMs: 100,
  fanoutSizes: [2],
  fanoutRounds: 1,
  fanoutSeconds: 1,
};
