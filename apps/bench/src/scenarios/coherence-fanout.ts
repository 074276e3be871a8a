import type { Child } from '../infra/processes.js';
import type { BenchRedis } from '../infra/redis-server.js';
import { rotate, summarize, type Summary } from '../infra/stats.js';
import { openApp, redisCpuMs, type BusSetting } from './coherence-instances.js';
import type { BenchContext } from './context.js';

/** Writes a second of each instance in the fan-out runs. */
export const FANOUT_RATE = 200;
/** Wait after the writes for the last messages to land, in ms. */
const DRAIN_MS = 300;
const BUS_SETTINGS: readonly BusSetting[] = ['off', 'tracking', 'pubsub'];

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
/** The fan-out's results. */
export interface FanoutResult {
  readonly rate: number;
  readonly rounds: number;
  readonly seconds: number;
  readonly rows: FanoutRow[];
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
export async function measureFanout(
  ctx: BenchContext,
  redis: BenchRedis,
  workers: readonly Child[],
): Promise<FanoutResult> {
  const { fanoutSizes, fanoutRounds: rounds, fanoutSeconds: seconds } = ctx.profile;
  const durationMs = seconds * 1000;
  type Run = Record<Exclude<keyof FanoutRow, 'bus' | 'instances'>, number>;
  const run = async (instances: number, bus: BusSetting, round: number): Promise<Run> => {
    const group = workers.slice(0, instances);
    const namespace = `fan-${instances}-${bus}-${round}`;
    await Promise.all(group.map((w) => openApp(w, redis, namespace, bus)));
    const info = redis.client();
    try {
      const cpuBefore = await redisCpuMs(info);
      // Read when the writes end (before the drain).
      const redisCpu = new Promise<void>((resolve) => setTimeout(resolve, durationMs)).then(
        async () => (await redisCpuMs(info)) - cpuBefore,
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
      info.disconnect();
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
