import os from 'node:os';
import { Child } from '../infra/processes.js';
import { BenchRedis } from '../infra/redis-server.js';
import { median, medianInterval, rotate, summarize, type Summary } from '../infra/stats.js';
import { measureFanout, type FanoutResult } from './coherence-fanout.js';
import { openApp, redisCpuMs, type BusSetting } from './coherence-instances.js';
import { measureLatency, type EvictionLatency } from './coherence-latency.js';
import type { BenchContext } from './context.js';

export type { BusSetting } from './coherence-instances.js';
export type { EvictionLatency } from './coherence-latency.js';
export type { FanoutResult, FanoutRow } from './coherence-fanout.js';

/** Concurrent `set` callers when measuring the bus's cost on writes (as in the L2 scenario). */
export const WRITE_INFLIGHT = 100;
/** Unmeasured writes per setting once the apps are open, before the measured rounds, in ms. */
export const WRITE_WARM_MS = 300;

/** A writer of the write-cost measurement: its bus, and whether another instance is subscribed. */
export interface WriteSetting {
  readonly bus: BusSetting;
  readonly peer: boolean;
  /**
   * A floor (with `bus` off): only what any bus in this mode that keeps the README's promise
   * must do, done by hand (see the worker's `floor`).
   */
  readonly floor?: Exclude<BusSetting, 'off'>;
}

/** The writer settings, bus off (the baseline of the ratios) first; each mode's floor after it. */
export const WRITE_SETTINGS: readonly WriteSetting[] = [
  { bus: 'off', peer: false },
  { bus: 'tracking', peer: false },
  { bus: 'off', peer: false, floor: 'tracking' },
  { bus: 'pubsub', peer: false },
  { bus: 'off', peer: false, floor: 'pubsub' },
  { bus: 'tracking', peer: true },
  { bus: 'pubsub', peer: true },
];

/** `set` throughput of one writer setting. */
export interface WriteCost extends WriteSetting {
  readonly opsPerSec: Summary;
  /** Over the bus-off throughput of the same round. */
  readonly ratio: Summary;
  /** 95% confidence interval of the ratio's median (bootstrap over the rounds; absent in old runs). */
  readonly ratioInterval?: readonly [number, number];
  /** CPU time of the writing process per `set`, µs. */
  readonly cpuUsPerSet: Summary;
  /** CPU time of the redis-server per `set` (of the writer and of everything it caused), µs. */
  readonly redisUsPerSet: Summary;
}
/** The coherence scenario's results. */
export interface CoherenceResult {
  readonly rounds: number;
  readonly latency: readonly EvictionLatency[];
  /** Estimated difference between A's and B's clocks (B − A), and its uncertainty, in ms. */
  readonly clockSkewMs: number;
  readonly clockUncertaintyMs: number;
  readonly writes: { readonly rounds: number; readonly ms: number; readonly rows: WriteCost[] };
  readonly fanout: FanoutResult;
  /**
   * The machine's 1-minute load average as each part ended (latency, writes, fan-out): the bench's
   * own processes count in it, and so does anything else running on the machine.
   */
  readonly loadAverage?: readonly number[];
}

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
/** A write-cost setting's name: its bus mode (or `floor-<mode>`), `-peer` when it has one. */
const settingName = (setting: WriteSetting) =>
  `${setting.floor === undefined ? setting.bus : `floor-${setting.floor}`}${setting.peer ? '-peer' : ''}`;
/** The namespace of a write-cost setting: its own, so that no other setting's instance hears it. */
const writeNamespace = (setting: WriteSetting) => `write-${settingName(setting)}`;

/**
 * `set` throughput of one writer process under each setting in turn. The writer holds one app per
 * setting, all open for the whole measurement, and the peer one per setting with a peer; each
 * round measures every setting once, in a rotated order, so that every setting runs in the same
 * process, with the same compiled code and heap, in short alternating measurements. A ratio is to
 * the bus-off throughput of the same round: the machine's speed drifts by more than the bar
 * between rounds, much less within one.
 */
async function measureWriteCost(
  ctx: BenchContext,
  redis: BenchRedis,
  writer: Child,
  peer: Child,
): Promise<CoherenceResult['writes']> {
  const { writeRounds: rounds, writeMs: ms } = ctx.profile;
  type Measured = { ops: number; opsPerSec: number; cpuUsPerOp: number };
  const info = redis.client();
  try {
    for (const setting of WRITE_SETTINGS) {
      await openApp(writer, redis, writeNamespace(setting), setting.bus);
      if (setting.floor !== undefined)
        await writer.call('floor', { namespace: writeNamespace(setting), mode: setting.floor });
      if (setting.peer) await openApp(peer, redis, writeNamespace(setting), setting.bus);
    }
    const measure = async (setting: WriteSetting, duration: number) => {
      await writer.call('use', { namespace: writeNamespace(setting) });
      const before = await redisCpuMs(info);
      const m = await writer.call<Measured>('measureSet', {
        inflight: WRITE_INFLIGHT,
        ms: duration,
      });
      return { ...m, redisUsPerOp: (((await redisCpuMs(info)) - before) * 1000) / m.ops };
    };
    for (const setting of WRITE_SETTINGS) await measure(setting, WRITE_WARM_MS);
    const series = WRITE_SETTINGS.map(() => ({
      ops: [] as number[],
      ratio: [] as number[],
      cpu: [] as number[],
      redis: [] as number[],
    }));
    for (let round = 0; round < rounds; round++) {
      const measured = new Map<WriteSetting, Measured & { redisUsPerOp: number }>();
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
    }
    ctx.log(
      `coherence: set, median of ${rounds} rounds: ${WRITE_SETTINGS.map((s, i) => `bus ${settingName(s)} ${median(series[i]!.ops).toFixed(0)} ops/s (${median(series[i]!.ratio).toFixed(3)}×)`).join(', ')}`,
    );
    return {
      rounds,
      ms,
      rows: WRITE_SETTINGS.map((setting, i) => ({
        ...setting,
        opsPerSec: summarize(series[i]!.ops),
        ratio: summarize(series[i]!.ratio),
        ratioInterval: medianInterval(series[i]!.ratio),
        cpuUsPerSet: summarize(series[i]!.cpu),
        redisUsPerSet: summarize(series[i]!.redis),
      })),
    };
  } finally {
    info.disconnect();
    await Promise.all([writer.call('closeApp'), peer.call('closeApp')]);
  }
}
