import { Child } from '../infra/processes.js';
import { BenchRedis } from '../infra/redis-server.js';
import { rotate, summarize, type Summary } from '../infra/stats.js';
import type { BenchContext } from './context.js';

/** Writes a second of each instance in the fan-out runs. */
export const FANOUT_RATE = 200;
/** Concurrent `set` callers when measuring the bus's cost on writes (as in the L2 scenario). */
export const WRITE_INFLIGHT = 100;
/** How long a watcher polls for a delete before counting it as not evicted, in ms. */
export const EVICTION_TIMEOUT_MS = 2_000;
/** Wait after the writes for the last messages to land, in ms. */
const DRAIN_MS = 300;
/** Unrecorded deletes per mode before the first round. */
const WARMUP_DELETES = 20;

/** How an instance's bus is set up: tracking (the default), pub/sub (`tracking: false`) or off. */
export type BusSetting = 'tracking' | 'pubsub' | 'off';

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

/** A writer of the write-cost measurement: its bus, and whether another instance is subscribed. */
export interface WriteSetting {
  readonly bus: BusSetting;
  readonly peer: boolean;
}

/** The writers, bus off (the baseline of the ratios) first. */
export const WRITE_SETTINGS: readonly WriteSetting[] = [
  { bus: 'off', peer: false },
  { bus: 'tracking', peer: false },
  { bus: 'pubsub', peer: false },
  { bus: 'tracking', peer: true },
  { bus: 'pubsub', peer: true },
];

/** `set` throughput of one writer setting. */
export interface WriteCost extends WriteSetting {
  readonly opsPerSec: Summary;
  /** Over the bus-off throughput of the same round. */
  readonly ratio: Summary;
  /** CPU time of the writing process per `set`, µs. */
  readonly cpuUsPerSet: Summary;
  /** CPU time of the redis-server per `set` (of the writer and of everything it caused), µs. */
  readonly redisUsPerSet: Summary;
}

/** One fan-out run: `instances` processes writing at {@link FANOUT_RATE}, each figure per instance. */
export interface FanoutRow {
  readonly bus: BusSetting;
  readonly instances: number;
  readonly writesPerS: number;
  /** Mean and highest CPU of an instance over the writes, % of one core. */
  readonly cpuPct: number;
  readonly cpuPctMax: number;
  readonly sentPerS: number;
  /** Invalidations received (a tracking report may carry several keys). */
  readonly receivedPerS: number;
  /** Keys evicted from L1 on other instances' writes. */
  readonly keysPerS: number;
  /** The redis-server's CPU over the writes, % of one core. */
  readonly redisCpuPct: number;
}

/** The coherence scenario's results. */
export interface CoherenceResult {
  readonly rounds: number;
  readonly latency: readonly EvictionLatency[];
  /** Estimated difference between A's and B's clocks (B − A), and its uncertainty, in ms. */
  readonly clockSkewMs: number;
  readonly clockUncertaintyMs: number;
  readonly writes: { readonly rounds: number; readonly ms: number; readonly rows: WriteCost[] };
  readonly fanout: { readonly rate: number; readonly seconds: number; readonly rows: FanoutRow[] };
}

/**
 * The instances of the latency and write-cost measurements, by index: 0 and 1 (tracking) and 2 and
 * 3 (pub/sub) delete and watch, then write with a subscribed peer; 4 to 6 write alone.
 */
const INSTANCES: ReadonlyArray<{ bus: BusSetting; namespace: string }> = [
  { bus: 'tracking', namespace: 'pair-tracking' },
  { bus: 'tracking', namespace: 'pair-tracking' },
  { bus: 'pubsub', namespace: 'pair-pubsub' },
  { bus: 'pubsub', namespace: 'pair-pubsub' },
  { bus: 'off', namespace: 'alone-off' },
  { bus: 'tracking', namespace: 'alone-tracking' },
  { bus: 'pubsub', namespace: 'alone-pubsub' },
];
/** Deleter (A) and watcher (B) of each bus mode. */
const PAIRS: Record<BusMode, readonly [number, number]> = { tracking: [0, 1], pubsub: [2, 3] };

/** The writing instance of a write setting (with a peer: the first of a pair). */
function writerOf(setting: WriteSetting): number {
  if (setting.bus !== 'off' && setting.peer) return PAIRS[setting.bus][0];
  return INSTANCES.findIndex((i) => i.bus === setting.bus && i.namespace.startsWith('alone-'));
}

/**
 * Several instances (forked processes, each a Nest application context with a memory L1 and a
 * Redis L2) on a private redis-server: how fast a delete on one reaches another's L1, what the bus
 * costs a writer, and what it costs each instance and Redis as instances are added.
 */
export async function runCoherenceScenario(ctx: BenchContext): Promise<CoherenceResult> {
  const { profile } = ctx;
  const redis = await BenchRedis.start();
  const size = Math.max(INSTANCES.length, ...profile.fanoutSizes);
  ctx.log(`coherence: starting ${size} instances`);
  const workers = Array.from({ length: size }, (_, i) =>
    Child.start(`coherence instance ${i}`, 'workers/coherence-worker.js', []),
  );
  try {
    await Promise.all(
      INSTANCES.map(({ bus, namespace }, i) => openApp(workers[i]!, redis.url, namespace, bus)),
    );
    const skew = await clockSkew(workers[0]!, workers[1]!);
    const latency = await measureLatency(ctx, workers);
    const writes = await measureWriteCost(ctx, redis, workers);
    await Promise.all(INSTANCES.map((_, i) => workers[i]!.call('closeApp')));
    const fanout = await measureFanout(ctx, redis, workers);
    return { rounds: profile.coherenceRounds, latency, ...skew, writes, fanout };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await redis.stop();
  }
}

/** Opens an instance's app and checks that its bus runs as asked. */
async function openApp(worker: Child, url: string, namespace: string, bus: BusSetting) {
  const state = await worker.call<{ mode: string; connected: boolean } | undefined>('open', {
    url,
    namespace,
    bus,
  });
  const ok = bus === 'off' ? state === undefined : state?.mode === bus && state.connected;
  if (!ok)
    throw new Error(
      `coherence: ${worker.label} asked for bus ${bus}, got ${JSON.stringify(state)}`,
    );
}

/** B's clock minus A's, each against this process's (NTP-style, the closest of 20 exchanges). */
async function clockSkew(a: Child, b: Child) {
  const offset = async (child: Child) => {
    let best = { rtt: Infinity, offset: 0 };
    for (let i = 0; i < 20; i++) {
      const sent = performance.timeOrigin + performance.now();
      const theirs = await child.call<number>('clock');
      const back = performance.timeOrigin + performance.now();
      if (back - sent < best.rtt) best = { rtt: back - sent, offset: theirs - (sent + back) / 2 };
    }
    return best;
  };
  const [oa, ob] = [await offset(a), await offset(b)];
  return { clockSkewMs: ob.offset - oa.offset, clockUncertaintyMs: (oa.rtt + ob.rtt) / 2 };
}

async function measureLatency(
  ctx: BenchContext,
  workers: readonly Child[],
): Promise<EvictionLatency[]> {
  const { coherenceRounds: rounds, coherenceDeletes: perRound } = ctx.profile;
  let probe = 0;
  /** One delete on A while B watches its L1; ms from A's delete resolving to B's miss (NaN: never). */
  const once = async (mode: BusMode) => {
    const [a, b] = PAIRS[mode].map((i) => workers[i]!) as [Child, Child];
    const key = `probe:${probe++}`;
    await b.call('arm', { key, timeoutMs: EVICTION_TIMEOUT_MS });
    const resolved = await a.call<number>('delete', { key });
    const missed = await b.call<number | null>('watched');
    return missed === null ? Number.NaN : missed - resolved;
  };
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
  return BUS_MODES.map((mode) => {
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

async function measureWriteCost(
  ctx: BenchContext,
  redis: BenchRedis,
  workers: readonly Child[],
): Promise<CoherenceResult['writes']> {
  const { libraryRounds: rounds, libraryMs: ms } = ctx.profile;
  type Measured = { opsPerSec: number; cpuUsPerOp: number; redisUsPerOp: number };
  const measure = async (setting: WriteSetting, duration: number): Promise<Measured> => {
    const before = await redisCpuMs(redis);
    const m = await workers[writerOf(setting)]!.call<Measured & { ops: number }>('measureSet', {
      ms: duration,
      inflight: WRITE_INFLIGHT,
    });
    return { ...m, redisUsPerOp: (((await redisCpuMs(redis)) - before) * 1000) / m.ops };
  };
  const label = (s: WriteSetting) => `${s.bus}${s.peer ? '+peer' : ''}`;
  for (const setting of WRITE_SETTINGS) await measure(setting, Math.max(200, ms / 2));
  const series = WRITE_SETTINGS.map(() => ({
    ops: [] as number[],
    ratio: [] as number[],
    cpu: [] as number[],
    redis: [] as number[],
  }));
  for (let round = 0; round < rounds; round++) {
    const measured = new Map<WriteSetting, Measured>();
    for (const setting of rotate(WRITE_SETTINGS, round))
      measured.set(setting, await measure(setting, ms));
    const baseline = measured.get(WRITE_SETTINGS[0]!)!.opsPerSec;
    WRITE_SETTINGS.forEach((setting, i) => {
      const m = measured.get(setting)!;
      series[i]!.ops.push(m.opsPerSec);
      series[i]!.ratio.push(m.opsPerSec / baseline);
      series[i]!.cpu.push(m.cpuUsPerOp);
      series[i]!.redis.push(m.redisUsPerOp);
    });
    ctx.log(
      `coherence: set round ${round + 1}/${rounds}: ${WRITE_SETTINGS.map((s) => `bus ${label(s)} ${measured.get(s)!.opsPerSec.toFixed(0)} ops/s`).join(', ')}`,
    );
  }
  return {
    rounds,
    ms,
    rows: WRITE_SETTINGS.map((setting, i) => ({
      ...setting,
      opsPerSec: summarize(series[i]!.ops),
      ratio: summarize(series[i]!.ratio),
      cpuUsPerSet: summarize(series[i]!.cpu),
      redisUsPerSet: summarize(series[i]!.redis),
    })),
  };
}

interface LoadResult {
  seconds: number;
  cpuMs: number;
  writes: number;
  sent: number;
  received: number;
  keysEvicted: number;
}

async function redisCpuMs(redis: BenchRedis): Promise<number> {
  const client = redis.client();
  try {
    const info = await client.info('cpu');
    const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
    return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
  } finally {
    client.disconnect();
  }
}

async function measureFanout(
  ctx: BenchContext,
  redis: BenchRedis,
  workers: readonly Child[],
): Promise<CoherenceResult['fanout']> {
  const { fanoutSizes, fanoutSeconds } = ctx.profile;
  const durationMs = fanoutSeconds * 1000;
  const rows: FanoutRow[] = [];
  for (const instances of fanoutSizes) {
    for (const bus of ['off', 'tracking', 'pubsub'] as const) {
      const group = workers.slice(0, instances);
      await Promise.all(group.map((w) => openApp(w, redis.url, `fan-${bus}-${instances}`, bus)));
      try {
        const cpuBefore = await redisCpuMs(redis);
        const redisCpu = new Promise<void>((resolve) => setTimeout(resolve, durationMs)).then(
          async () => (await redisCpuMs(redis)) - cpuBefore,
        );
        const results = await Promise.all(
          group.map((w) =>
            w.call<LoadResult>('load', { rate: FANOUT_RATE, durationMs, drainMs: DRAIN_MS }),
          ),
        );
        const mean = (pick: (r: LoadResult) => number) =>
          results.reduce((sum, r) => sum + pick(r) / r.seconds, 0) / results.length;
        const cpu = results.map((r) => r.cpuMs / r.seconds / 10);
        rows.push({
          bus,
          instances,
          writesPerS: mean((r) => r.writes),
          cpuPct: cpu.reduce((a, b) => a + b, 0) / cpu.length,
          cpuPctMax: Math.max(...cpu),
          sentPerS: mean((r) => r.sent),
          receivedPerS: mean((r) => r.received),
          keysPerS: mean((r) => r.keysEvicted),
          redisCpuPct: ((await redisCpu) / durationMs) * 100,
        });
        const row = rows.at(-1)!;
        ctx.log(
          `coherence: fan-out ${instances} instances, bus ${bus}: CPU ${row.cpuPct.toFixed(1)}% per instance, ${row.receivedPerS.toFixed(0)} invalidations/s in, Redis ${row.redisCpuPct.toFixed(1)}%`,
        );
      } finally {
        await Promise.all(group.map((w) => w.call('closeApp')));
      }
    }
  }
  return { rate: FANOUT_RATE, seconds: fanoutSeconds, rows };
}
