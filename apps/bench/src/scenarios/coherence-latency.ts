import { monotonicMs } from '../infra/clock.js';
import type { Child } from '../infra/processes.js';
import type { BenchRedis } from '../infra/redis-server.js';
import { rotate, type Summary } from '../infra/stats.js';
import { openApp } from './coherence-instances.js';
import type { BenchContext } from './context.js';

/** How long a watcher polls for a delete before counting it as not evicted, in ms. */
export const EVICTION_TIMEOUT_MS = 2_000;
/** Unrecorded deletes per mode before the first round. */
export const WARMUP_DELETES = 20;

const BUS_MODES = ['tracking', 'pubsub'] as const;
type BusMode = (typeof BUS_MODES)[number];

/** Time from `delete()` resolving on instance A to B's L1 missing the key, for one bus mode. */
export interface EvictionLatency {
  readonly mode: BusMode;
  readonly deletes: number;
  /** Percentiles over every delete of the run (`median`); `min`/`max`: the same percentile's range across rounds. */
  readonly p50Ms: Summary;
  readonly p99Ms: Summary;
  readonly maxMs: number;
  /** Deletes whose key was already gone from B's L1 when A's `delete()` resolved (counted as 0 ms). */
  readonly beforeResolve: number;
  /** Deletes whose key was still in B's L1 after {@link EVICTION_TIMEOUT_MS}. */
  readonly timeouts: number;
}

/** Deleter (A) and watcher (B) of each bus mode, by instance index. */
const PAIRS: Record<BusMode, readonly [number, number]> = { tracking: [0, 1], pubsub: [2, 3] };

/** B's clock minus A's, each against this process's (NTP-style, the closest of 20 exchanges). */
async function clockSkew(a: Child, b: Child) {
  const offset = async (child: Child) => {
    let best = { rtt: Infinity, offset: 0 };
    for (let i = 0; i < 20; i++) {
      const sent = monotonicMs();
      const theirs = await child.call<number>('clock');
      const back = monotonicMs();
      if (back - sent < best.rtt) best = { rtt: back - sent, offset: theirs - (sent + back) / 2 };
    }
    return best;
  };
  const [oa, ob] = [await offset(a), await offset(b)];
  return { clockSkewMs: ob.offset - oa.offset, clockUncertaintyMs: (oa.rtt + ob.rtt) / 2 };
}
/** Deletes on A while B watches its L1, in alternating rounds of tracking and pub/sub pairs. */
export async function measureLatency(
  ctx: BenchContext,
  redis: BenchRedis,
  workers: readonly Child[],
) {
  const { coherenceRounds: rounds, coherenceDeletes: perRound } = ctx.profile;
  const pair = (mode: BusMode) => PAIRS[mode].map((i) => workers[i]!) as [Child, Child];
  for (const mode of BUS_MODES)
    await Promise.all(pair(mode).map((w) => openApp(w, redis, `pair-${mode}`, mode)));
  let probe = 0;
  /** One delete on A while B watches its L1; ms from A's delete resolving to B's miss (NaN: never). */
  const once = async (mode: BusMode) => {
    const [a, b] = pair(mode);
    const key = `probe:${probe++}`;
    await b.call('arm', { key, timeoutMs: EVICTION_TIMEOUT_MS });
    const resolved = await a.call<number>('delete', { key });
    const missed = await b.call<number | null>('watched');
    return missed === null ? Number.NaN : missed - resolved;
  };
  try {
    const skew = await clockSkew(...pair('tracking'));
    for (const mode of BUS_MODES) for (let i = 0; i < WARMUP_DELETES; i++) await once(mode);
    const samples = new Map<BusMode, number[][]>(BUS_MODES.map((m) => [m, []]));
    for (let round = 0; round < rounds; round++) {
      for (const mode of rotate(BUS_MODES, round)) {
        const list: number[] = [];
        for (let i = 0; i < perRound; i++) list.push(await once(mode));
        samples.get(mode)!.push(list);
      }
      ctx.log(
        `coherence: round ${round + 1}/${rounds}: delete → other L1 missing, p99 ${BUS_MODES.map((m) => `${m} ${percentile(samples.get(m)!.at(-1)!, 99).toFixed(2)} ms`).join(', ')}`,
      );
    }
    const latency = BUS_MODES.map((mode): EvictionLatency => {
      const perRoundLists = samples.get(mode)!;
      const all = perRoundLists.flat();
      const pooled = (p: number): Summary => {
        const each = perRoundLists.map((list) => percentile(list, p));
        return {
          median: percentile(all, p),
          min: Math.min(...each),
          max: Math.max(...each),
          n: each.length,
        };
      };
      return {
        mode,
        deletes: all.length,
        p50Ms: pooled(50),
        p99Ms: pooled(99),
        maxMs: percentile(all, 100),
        beforeResolve: all.filter((ms) => ms < 0).length,
        timeouts: all.filter((ms) => Number.isNaN(ms)).length,
      };
    });
    return { latency, ...skew };
  } finally {
    await Promise.all(BUS_MODES.flatMap(pair).map((w) => w.call('closeApp')));
  }
}

/**
 * Nearest-rank percentile of latencies: a negative one (B missed the key before A's call had
 * resolved) counts as 0, one that never came (NaN) as Infinity.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = values
    .map((v) => (Number.isNaN(v) ? Infinity : Math.max(0, v)))
    .sort((x, y) => x - y);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
