import { Child } from '../infra/processes.js';
import { summarize, type Summary } from '../infra/stats.js';
import type { BenchContext } from './context.js';

/** Contenders of the memory scenario, the baseline first. */
export const MEMORY_CONTENDERS: ReadonlyArray<{ id: string; label: string }> = [
  { id: 'lru-raw', label: 'lru-cache 11, raw (baseline)' },
  { id: 'ours-nos', label: 'nest-tiered-cache, `memory-no-serializer`' },
  { id: 'ours-memory', label: 'nest-tiered-cache, `memory` (serialized), entries never read' },
  {
    id: 'ours-memory-read',
    label: 'nest-tiered-cache, `memory` (serialized), each entry read once',
  },
  { id: 'cm-memory', label: 'cache-manager 7, memory (Keyv)' },
  { id: 'bento-memory', label: 'bentocache 1.6, memory' },
];

/** Bytes per entry of one contender across rounds, and its ratio to raw lru-cache. */
export interface MemoryContenderResult {
  readonly id: string;
  readonly label: string;
  readonly bytesPerEntry: Summary;
  readonly ratio: Summary;
}

/** The memory scenario's results. */
export interface MemoryResult {
  readonly entries: number;
  readonly rounds: number;
  readonly contenders: readonly MemoryContenderResult[];
}

/** Measures each contender in a fresh `--expose-gc` process per round (one process at a time). */
export async function runMemoryScenario(ctx: BenchContext): Promise<MemoryResult> {
  const { memoryEntries: entries, memoryRounds: rounds } = ctx.profile;
  const bytes = new Map<string, number[]>(MEMORY_CONTENDERS.map((c) => [c.id, []]));
  for (let round = 0; round < rounds; round++) {
    for (const { id } of MEMORY_CONTENDERS) {
      const worker = Child.start(
        `memory worker ${id}`,
        'workers/memory-worker.js',
        [id, String(entries)],
        ['--expose-gc'],
      );
      try {
        bytes.get(id)!.push(await worker.call<number>('measure'));
      } finally {
        await worker.stop();
      }
    }
    ctx.log(
      `memory: round ${round + 1}/${rounds}: ${MEMORY_CONTENDERS.map(({ id }) => `${id} ${bytes.get(id)!.at(-1)!.toFixed(0)} B`).join(', ')}`,
    );
  }
  const baseline = bytes.get('lru-raw')!;
  return {
    entries,
    rounds,
    contenders: MEMORY_CONTENDERS.map(({ id, label }) => ({
      id,
      label,
      bytesPerEntry: summarize(bytes.get(id)!),
      ratio: summarize(bytes.get(id)!.map((value, i) => value / baseline[i]!)),
    })),
  };
}
