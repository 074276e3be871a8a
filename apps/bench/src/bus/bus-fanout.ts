/**
 * Bus fan-out bench: N instances (forked processes) on one private redis-server, each writing
 * `RATE` keys a second, with the bus in tracking mode, in pub/sub mode, or no bus. Prints the CPU
 * and messages per instance, Redis's CPU, and the time from a SET/DEL resolving on instance 0 to
 * instance 1's handler being called (p50/p99).
 * Run: `npm run build:bench && node dist/apps/bench/bus/bus-fanout.js [seconds] [2,8,16]`.
 */
import { Child, killAll } from '../infra/processes.js';
import { BenchRedis } from '../infra/redis-server.js';

const RATE = 200;
const SECONDS = Number(process.argv[2] ?? 5);
/** Instance counts, from a comma-separated third argument (default 2,8,16). */
const SIZES = (process.argv[3] ?? '2,8,16').split(',').map(Number);
const MODES = ['none', 'tracking', 'pubsub'] as const;

interface RunResult {
  cpuMs: number;
  durationMs: number;
  writes: number;
  sent: number;
  messagesReceived: number;
  keysReceived: number;
  mode?: string;
  probes: { key: string; set: number; del?: number }[];
  receipts: Record<string, number[]>;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function redisCpuMs(redis: BenchRedis): Promise<number> {
  const client = redis.client();
  const info = await client.info('cpu');
  client.disconnect();
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
}

async function run(redis: BenchRedis, mode: (typeof MODES)[number], size: number) {
  const children = Array.from({ length: size }, (_, i) =>
    Child.start(`bus-${mode}-${i}`, 'bus/bus-fanout-worker.js', []),
  );
  try {
    await Promise.all(children.map((child) => child.call('start', { url: redis.url, mode })));
    const cpuBefore = await redisCpuMs(redis);
    const results = await Promise.all(
      children.map((child, i) =>
        child.call<RunResult>('run', { rate: RATE, durationMs: SECONDS * 1000, probe: i === 0 }),
      ),
    );
    const redisCpu = (await redisCpuMs(redis)) - cpuBefore;
    const seconds = results[0]!.durationMs / 1000;
    const mean = (pick: (r: RunResult) => number) =>
      results.reduce((sum, r) => sum + pick(r), 0) / results.length / seconds;
    const latency = (which: 'set' | 'del') => {
      if (mode === 'none') return [];
      const receipts = results[1]!.receipts;
      return (
        results[0]!.probes
          .filter((p) => p[which] !== undefined && p[which] !== 0)
          .map((p) => (receipts[p.key] ?? [])[which === 'set' ? 0 : 1]! - p[which]!)
          .filter((ms) => Number.isFinite(ms))
          // B's handler can run before A's call has returned (A's reply is still in its socket): 0.
          .map((ms) => Math.max(0, ms))
          .sort((a, b) => a - b)
      );
    };
    const set = latency('set');
    const del = latency('del');
    return {
      mode: results[0]!.mode ?? mode,
      size,
      cpuPct: mean((r) => r.cpuMs) / 10,
      writesPerS: mean((r) => r.writes),
      sentPerS: mean((r) => r.sent),
      messagesInPerS: mean((r) => r.messagesReceived),
      keysInPerS: mean((r) => r.keysReceived),
      redisCpuPct: redisCpu / seconds / 10,
      set: { n: set.length, p50: percentile(set, 50), p99: percentile(set, 99) },
      del: { n: del.length, p50: percentile(del, 50), p99: percentile(del, 99) },
    };
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}

async function main(): Promise<void> {
  const redis = await BenchRedis.start();
  const rows = [];
  try {
    for (const mode of MODES)
      for (const size of SIZES) {
        const client = redis.client();
        await client.flushall();
        client.disconnect();
        const row = await run(redis, mode, size);
        rows.push(row);
        console.log(JSON.stringify(row));
      }
  } finally {
    await redis.stop();
  }
  const ms = (v: number) => (Number.isNaN(v) ? '–' : v.toFixed(2));
  console.log(
    `\n| bus | instances | CPU/instance (% core) | writes/s/instance | msgs sent/s/instance | msgs in/s/instance | keys in/s/instance | redis CPU (% core) | SET→handler p50/p99 ms | DEL→handler p50/p99 ms |`,
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows)
    console.log(
      `| ${r.mode} | ${r.size} | ${r.cpuPct.toFixed(1)} | ${r.writesPerS.toFixed(0)} | ${r.sentPerS.toFixed(0)} | ${r.messagesInPerS.toFixed(0)} | ${r.keysInPerS.toFixed(0)} | ${r.redisCpuPct.toFixed(1)} | ${ms(r.set.p50)} / ${ms(r.set.p99)} | ${ms(r.del.p50)} / ${ms(r.del.p99)} |`,
    );
}

main().catch((err: unknown) => {
  killAll();
  console.error(err);
  process.exitCode = 1;
});
