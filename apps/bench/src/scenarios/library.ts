import { Child } from '../infra/processes.js';
import { rotate, summarize, type Summary } from '../infra/stats.js';
import { LIBRARY_CONTENDERS } from '../workers/library-contenders.js';
import type { BenchContext } from './context.js';

/** A library-level throughput scenario: contenders in their own processes, compared with the first. */
export interface LibraryScenario {
  readonly id: string;
  readonly title: string;
  /** The first one is the baseline of the ratios. */
  readonly contenders: readonly string[];
  /** Concurrent callers. */
  readonly inflight: number;
  /** The Redis each contender uses, when not the bench's single node (a cluster's URL). */
  readonly redisUrls?: Readonly<Record<string, string>>;
}

/** The figures of one contender across rounds. */
export interface LibraryContenderResult {
  readonly id: string;
  readonly label: string;
  readonly opsPerSec: Summary;
  /** ops/s over the baseline's ops/s in the same round. */
  readonly ratio: Summary;
  /** ops/s of each round, in round order (for ratios between any two contenders). */
  readonly perRound?: readonly number[];
}

/** A library scenario's results. */
export interface LibraryScenarioResult {
  readonly scenario: LibraryScenario;
  readonly rounds: number;
  readonly contenders: readonly LibraryContenderResult[];
}

const KEYS = 1_000;

/** Starts one worker per contender, warms each, then measures them in alternating rounds. */
export async function runLibraryScenario(
  ctx: BenchContext,
  scenario: LibraryScenario,
): Promise<LibraryScenarioResult> {
  const { profile } = ctx;
  ctx.log(`${scenario.title}: starting ${scenario.contenders.length} workers`);
  const workers = new Map<string, Child>();
  try {
    for (const id of scenario.contenders) {
      workers.set(
        id,
        Child.start(`library worker ${id}`, 'workers/library-worker.js', [
          id,
          scenario.redisUrls?.[id] ?? ctx.redisUrl,
          String(KEYS),
        ]),
      );
    }
    const measure = (id: string, ms: number) =>
      workers.get(id)!.call<number>('measure', { ms, inflight: scenario.inflight });
    for (const id of scenario.contenders) await measure(id, Math.max(200, profile.libraryMs / 2));
    const ops = new Map<string, number[]>(scenario.contenders.map((id) => [id, []]));
    const ratios = new Map<string, number[]>(scenario.contenders.map((id) => [id, []]));
    const baseline = scenario.contenders[0]!;
    for (let round = 0; round < profile.libraryRounds; round++) {
      const measured = new Map<string, number>();
      for (const id of rotate(scenario.contenders, round))
        measured.set(id, await measure(id, profile.libraryMs));
      for (const [id, value] of measured) {
        ops.get(id)!.push(value);
        ratios.get(id)!.push(value / measured.get(baseline)!);
      }
      ctx.log(
        `${scenario.title}: round ${round + 1}/${profile.libraryRounds}: ${[...measured].map(([id, v]) => `${id} ${formatOps(v)}`).join(', ')}`,
      );
    }
    return {
      scenario,
      rounds: profile.libraryRounds,
      contenders: scenario.contenders.map((id) => ({
        id,
        label: LIBRARY_CONTENDERS[id]!.label,
        opsPerSec: summarize(ops.get(id)!),
        ratio: summarize(ratios.get(id)!),
        perRound: ops.get(id)!,
      })),
    };
  } finally {
    await Promise.all([...workers.values()].map((worker) => worker.stop()));
  }
}

/** 12.3M, 456k, 789. */
export function formatOps(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(value >= 1e7 ? 1 : 2)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(value >= 1e5 ? 0 : 1)}k`;
  return value.toFixed(0);
}
