import type { CacheWorker } from './cache-worker.js';
import { now } from './cache-worker.js';
import { History, type KeyOp, type KeySpec } from './history.js';
import type { FaultWindow } from './read-checker.js';

/** The key set of the soaks: two groups (for patterns) and overlapping tags. */
export const SOAK_KEYS: readonly KeySpec[] = [
  { key: 'user:1', tags: ['users', 'odd'] },
  { key: 'user:2', tags: ['users', 'even'] },
  { key: 'user:3', tags: ['users', 'odd'] },
  { key: 'post:1', tags: ['posts', 'odd'] },
  { key: 'post:2', tags: ['posts', 'even'] },
];
const PATTERNS = ['user:*', 'post:*', '*:1'];
const TAGS = ['odd', 'even', 'posts'];

/** Relative weights of the operations a soak draws. */
export interface OpMix {
  get: number;
  set: number;
  getOrSet: number;
  delete: number;
  deletePattern: number;
  deleteByTag: number;
  clear: number;
}

/** Mostly reads, a fifth writes, a tenth deletes and a few bulk invalidations. */
export const DEFAULT_MIX: OpMix = {
  get: 55,
  set: 20,
  getOrSet: 5,
  delete: 10,
  deletePattern: 4,
  deleteByTag: 4,
  clear: 2,
};

/** A fault injected mid-run: it resolves once it is over, to when it began and ended. */
export interface Fault {
  readonly what: string;
  /** Injected once this many operations have completed (all workers together). */
  readonly afterOps: number;
  readonly inject: () => Promise<{ from: number; to: number }>;
}

/** A soak: what runs where, for how long. */
export interface SoakPlan {
  /** Seeds every lane's operations (their interleaving is the machine's). */
  readonly seed: number;
  readonly workers: readonly CacheWorker[];
  /** Operations in flight per worker. Default 2. */
  readonly lanes?: number;
  /** Run at least this many operations (all workers together). */
  readonly minOps: number;
  /** And keep going this long after the last fault was over, in ms. */
  readonly tailMs?: number;
  readonly mix?: OpMix;
  readonly faults?: readonly Fault[];
  /** Entry TTL given to every write, in seconds (long: nothing should expire during a run). */
  readonly ttl?: number;
}

/** What a soak did. */
export interface SoakRun {
  readonly history: History;
  /** Operations completed, by op. */
  readonly counts: Readonly<Record<string, number>>;
  readonly ops: number;
  /** Operations a worker answered with an error (the cache should never throw). */
  readonly errors: readonly string[];
  readonly windows: readonly FaultWindow[];
  readonly startedAt: number;
  readonly durationMs: number;
}

/**
 * Runs random reads, writes and invalidations on {@link SOAK_KEYS} from every worker at once
 * (`lanes` operations in flight each), injecting `faults` along the way, and records the history.
 */
export async function runSoak(plan: SoakPlan): Promise<SoakRun> {
  // The checker compares timestamps taken in different processes: they must share one clock.
  for (const worker of plan.workers) {
    const disagreement = await worker.clockDisagreement(5);
    if (disagreement > 0)
      throw new Error(`${worker.name}'s clock is ${disagreement.toFixed(3)} ms off this process's`);
  }
  const history = new History(SOAK_KEYS);
  const mix = plan.mix ?? DEFAULT_MIX;
  const lanes = plan.lanes ?? 2;
  const pending = [...(plan.faults ?? [])].sort((a, b) => a.afterOps - b.afterOps);
  const windows: FaultWindow[] = [];
  const counts: Record<string, number> = {};
  const errors: string[] = [];
  let ops = 0;
  let faultsRunning = 0;
  let quietFrom = -Infinity;
  let failure: { error: unknown } | undefined;
  const faultTasks: Promise<void>[] = [];
  const startedAt = now();

  const startDueFaults = () => {
    while (pending.length > 0 && pending[0]!.afterOps <= ops) {
      const fault = pending.shift()!;
      faultsRunning++;
      faultTasks.push(
        fault.inject().then(
          ({ from, to }) => {
            windows.push({ from, to, what: fault.what });
            faultsRunning--;
            quietFrom = Math.max(quietFrom, to);
          },
          (error: unknown) => {
            failure ??= { error };
            faultsRunning--;
          },
        ),
      );
    }
  };
  const finished = () =>
    failure !== undefined ||
    (ops >= plan.minOps &&
      pending.length === 0 &&
      faultsRunning === 0 &&
      now() >= quietFrom + (plan.tailMs ?? 0));

  const lane = async (worker: CacheWorker, index: number, laneNo: number) => {
    const random = mulberry32(plan.seed ^ Math.imul(index + 1, 0x9e3779b1) ^ (laneNo << 16));
    let n = 0;
    while (!finished()) {
      const request = drawOp(random, mix, () => `${worker.name}.${laneNo}.${n++}`, plan.ttl);
      try {
        await history.run(worker, request);
      } catch (err) {
        errors.push(`${worker.name} ${request.op}: ${String(err)}`);
        if (!worker.running) return;
      }
      counts[request.op] = (counts[request.op] ?? 0) + 1;
      ops++;
      startDueFaults();
    }
  };
  startDueFaults();
  const laneTasks = plan.workers.flatMap((worker, index) =>
    Array.from({ length: lanes }, (_, laneNo) => lane(worker, index, laneNo)),
  );
  await Promise.all(laneTasks);
  await Promise.all(faultTasks);
  if (failure !== undefined) throw failure.error;
  return { history, counts, ops, errors, windows, startedAt, durationMs: now() - startedAt };
}

/** Draws one operation; `value` gives a value never used before. */
function drawOp(random: () => number, mix: OpMix, value: () => string, ttl = 300): KeyOp {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const key = pick(SOAK_KEYS).key;
  const total = Object.values(mix).reduce((a, b) => a + b, 0);
  let roll = random() * total;
  for (const [op, weight] of Object.entries(mix) as [keyof OpMix, number][]) {
    roll -= weight;
    if (roll >= 0) continue;
    switch (op) {
      case 'get':
        return { op, key };
      case 'set':
      case 'getOrSet':
        return { op, key, value: value(), ttl };
      case 'delete':
        return { op, key };
      case 'deletePattern':
        return { op, pattern: pick(PATTERNS) };
      case 'deleteByTag':
        return { op, tags: [pick(TAGS)] };
      case 'clear':
        return { op };
    }
  }
  return { op: 'get', key };
}

/** A small seeded PRNG (mulberry32): uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of this run: SOAK_SEED if set (to replay a failure's operations), else a fresh one. */
export function soakSeed(): number {
  const fixed = process.env.SOAK_SEED;
  if (fixed !== undefined && fixed !== '') return Number(fixed) >>> 0;
  return Math.floor(Math.random() * 2 ** 32);
}
