import os from 'node:os';
import { Child } from '../infra/processes.js';
import { BenchRedis } from '../infra/redis-server.js';
import { median, rotate, summarize, type Summary } from '../infra/stats.js';
import type { BenchContext } from './context.js';

/** Writes a second of each instance in the fan-out runs. */
export const FANOUT_RATE = 200;
/** Concurrent `set` callers when measuring the bus's cost on writes (as in the L2 scenario). */
export const WRITE_INFLIGHT = 100;
/** Unmeasured writes after the writer's app is opened, before each measurement, in ms (at most). */
export const WRITE_WARM_MS = 100;
/** How long a watcher polls for a delete before counting it as not evicted, in ms. */
export const EVICTION_TIMEOUT_MS = 2_000;
/** Unrecorded deletes per mode before the first round. */
export const WARMUP_DELETES = 20;
/** Wait after the writes for the last messages to land, in ms. */
const DRAIN_MS = 300;

/** How an instance's bus is set up: tracking (the default), pub/sub (`tracking: false`) or off. */
export type BusSetting = 'tracking' | 'pubsub' | 'off';
const BUS_SETTINGS: readonly BusSetting[] = ['off', 'tracking', 'pubsub'];
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

/** The writer settings, bus off (the baseline of the ratios) first. */
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

/** `instances` processes writing at {@link FANOUT_RATE}; figures per instance, across rounds. */
export interface FanoutRow {
  readonly bus: BusSetting;
  readonly instances: number;
  readonly writesPerS: Summary;
  /** Mean CPU of an instance over the writes, % of one core. */
  readonly cpuPct: Summary;
  /** The busiest instance's CPU, % of one core. */
  readonly cpuPctMax: Summary;
  readonly sentPerS: Summary;
  /** Invalidations received (a tracking report may carry several keys). */
  readonly receivedPerS: Summary;
  /** Keys evicted from L1 on other instances' writes. */
  readonly keysPerS: Summary;
  /** The redis-server's CPU over the writes, % of one core. */
  readonly redisCpuPct: Summary;
}

/** The coherence scenario's results. */
export interface CoherenceResult {
  readonly rounds: number;
  readonly latency: readonly EvictionLatency[];
  /** Estimated difference between A's and B's clocks (B − A), and its uncertainty, in ms. */
  readonly clockSkewMs: number;
  readonly clockUncertaintyMs: number;
  readonly writes: { readonly rounds: number; readonly ms: number; readonly rows: WriteCost[] };
  readonly fanout: {
    readonly rate: number;
    readonly rounds: number;
    readonly seconds: number;
    readonly rows: FanoutRow[];
  };
  /**
   * The machine's 1-minute load average as each part ended (latency, writes, fan-out): the bench's
   * own processes count in it, and so does anything else running on the machine.
   */
  readonly loadAverage?: readonly number[];
}

/** Deleter (A) and watcher (B) of each bus mode, by instance index. */
const PAIRS: Record<BusMode, readonly [number, number]> = { tracking: [0, 1], pubsub: [2, 3] };

/**
 * Several instances (forked processes, each a Nest application context with a memory L1 and a
 * Redis L2) on a private redis-server: how fast a delete on one reaches another's L1, what the bus
 * costs a writer, and what it costs each instance and Redis as instances are added.
 */
export async function runCoherenceScenario(ctx: BenchContext): Promise<CoherenceResult> {
  const { profile } = ctx;
  const redis = await BenchRedis.start();
  const size = Math.max(4, ...profile.fanoutSizes);
  ctx.log(`coherence: starting ${size} instances`);
  const workers = Array.from({ length: size }, (_, i) =>
    Child.start(`coherence instance ${i}`, 'workers/coherence-worker.js', []),
  );
  try {
    const loadAverage: number[] = [];
    const latency = await measureLatency(ctx, redis, workers);
    loadAverage.push(os.loadavg()[0]!);
    const writes = await measureWriteCost(ctx, redis, workers[0]!, workers[1]!);
    loadAverage.push(os.loadavg()[0]!);
    const fanout = await measureFanout(ctx, redis, workers);
    loadAverage.push(os.loadavg()[0]!);
    return { rounds: profile.coherenceRounds, ...latency, writes, fanout, loadAverage };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await redis.stop();
  }
}

/** Opens an instance's app and checks that its bus runs as asked. */
async function openApp(worker: Child, redis: BenchRedis, namespace: string, bus: BusSetting) {
  const state = await worker.call<{ mode: string; connected: boolean } | undefined>('open', {
    url: redis.url,
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

/** Deletes on A while B watches its L1, in alternating rounds of tracking and pub/sub pairs. */
async function measureLatency(ctx: BenchContext, redis: BenchRedis, workers: readonly Child[]) {
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

/**
 * `set` throughput of one writer process under each setting in turn: its app is reopened with the
 * setting's bus for every measurement (and the peer's with it), so that every setting runs in the
 * same process, with the same compiled code and heap, in short alternating rounds.
 */
async function measureWriteCost(
  ctx: BenchContext,
  redis: BenchRedis,
  writer: Child,
  peer: Child,
): Promise<CoherenceResult['writes']> {
  const { writeRounds: rounds, writeMs: ms } = ctx.profile;
  type Measured = { ops: number; opsPerSec: number; cpuUsPerOp: number };
  const measure = async (setting: WriteSetting, warmUp: boolean) => {
    const namespace = `write-${setting.bus}`;
    await openApp(writer, redis, namespace, setting.bus);
    if (setting.peer) await openApp(peer, redis, namespace, setting.bus);
    try {
      const args = { inflight: WRITE_INFLIGHT };
      await writer.call('measureSet', { ...args, ms: warmUp ? ms : Math.min(ms, WRITE_WARM_MS) });
      const before = await redisCpuMs(redis);
      const m = await writer.call<Measured>('measureSet', { ...args, ms });
      return { ...m, redisUsPerOp: (((await redisCpuMs(redis)) - before) * 1000) / m.ops };
    } finally {
      await Promise.all([writer.call('closeApp'), setting.peer ? peer.call('closeApp') : null]);
    }
  };
  for (const setting of WRITE_SETTINGS) await measure(setting, true);
  const series = WRITE_SETTINGS.map(() => ({
    ops: [] as number[],
    ratio: [] as number[],
    cpu: [] as number[],
    redis: [] as number[],
  }));
  for (let round = 0; round < rounds; round++) {
    const measured = new Map<WriteSetting, Measured & { redisUsPerOp: number }>();
    for (const setting of rotate(WRITE_SETTINGS, round))
      measured.set(setting, await measure(setting, false));
    const baseline = measured.get(WRITE_SETTINGS[0]!)!.opsPerSec;
    WRITE_SETTINGS.forEach((setting, i) => {
      const m = measured.get(setting)!;
      series[i]!.ops.push(m.opsPerSec);
      series[i]!.ratio.push(m.opsPerSec / baseline);
      series[i]!.cpu.push(m.cpuUsPerOp);
      series[i]!.redis.push(m.redisUsPerOp);
    });
  }
  const label = (s: WriteSetting) => `${s.bus}${s.peer ? '+peer' : ''}`;
  ctx.log(
    `coherence: set, median of ${rounds} rounds: ${WRITE_SETTINGS.map((s, i) => `bus ${label(s)} ${median(series[i]!.ops).toFixed(0)} ops/s (${median(series[i]!.ratio).toFixed(2)}×)`).join(', ')}`,
  );
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

interface LoadResult {
  seconds: number;
  cpuMs: number;
  writes: number;
  sent: number;
  received: number;
  keysEvicted: number;
}

/** Per instance count: rounds of every bus setting (rotated), all instances writing at once. */
async function measureFanout(
  ctx: BenchContext,
  redis: BenchRedis,
  workers: readonly Child[],
): Promise<CoherenceResult['fanout']> {
  const { fanoutSizes, fanoutRounds: rounds, fanoutSeconds: seconds } = ctx.profile;
  const durationMs = seconds * 1000;
  type Run = Record<Exclude<keyof FanoutRow, 'bus' | 'instances'>, number>;
  const run = async (instances: number, bus: BusSetting, round: number): Promise<Run> => {
    const group = workers.slice(0, instances);
    const namespace = `fan-${instances}-${bus}-${round}`;
    await Promise.all(group.map((w) => openApp(w, redis, namespace, bus)));
    try {
      const cpuBefore = await redisCpuMs(redis);
      // Read when the writes end (before the drain).
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
      return {
        writesPerS: mean((r) => r.writes),
        cpuPct: cpu.reduce((a, b) => a + b, 0) / cpu.length,
        cpuPctMax: Math.max(...cpu),
        sentPerS: mean((r) => r.sent),
        receivedPerS: mean((r) => r.received),
        keysPerS: mean((r) => r.keysEvicted),
        redisCpuPct: ((await redisCpu) / durationMs) * 100,
      };
    } finally {
      await Promise.all(group.map((w) => w.call('closeApp')));
    }
  };
  const rows: FanoutRow[] = [];
  for (const instances of fanoutSizes) {
    const runs = new Map<BusSetting, Run[]>(BUS_SETTINGS.map((b) => [b, []]));
    for (let round = 0; round < rounds; round++)
      for (const bus of rotate(BUS_SETTINGS, round))
        runs.get(bus)!.push(await run(instances, bus, round));
    for (const bus of BUS_SETTINGS) {
      const list = runs.get(bus)!;
      const of = (field: keyof Run) => summarize(list.map((r) => r[field]));
      rows.push({
        bus,
        instances,
        writesPerS: of('writesPerS'),
        cpuPct: of('cpuPct'),
        cpuPctMax: of('cpuPctMax'),
        sentPerS: of('sentPerS'),
        receivedPerS: of('receivedPerS'),
        keysPerS: of('keysPerS'),
        redisCpuPct: of('redisCpuPct'),
      });
    }
    ctx.log(
      `coherence: fan-out, ${instances} instances: ${rows
        .slice(-BUS_SETTINGS.length)
        .map(
          (r) =>
            `bus ${r.bus} CPU ${r.cpuPct.median.toFixed(1)}% per instance, ${r.receivedPerS.median.toFixed(0)} invalidations/s in, Redis ${r.redisCpuPct.median.toFixed(1)}%`,
        )
        .join('; ')}`,
    );
  }
  return { rate: FANOUT_RATE, rounds, seconds, rows };
}
