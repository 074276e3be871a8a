import { ITEM } from '../servers/bodies.js';
import { EVICTION_TIMEOUT_MS } from '../scenarios/coherence-latency.js';
import {
  WRITE_INFLIGHT,
  WRITE_WARM_MS,
  type BusSetting,
  type CoherenceResult,
  type WriteCost,
} from '../scenarios/coherence.js';
import { cell, ms, rps, signedUs, us, type Bar } from './format.js';
import type { Chart } from './svg.js';

/** How each bus setting is named on the page. */
const BUS_LABEL: Record<BusSetting, string> = {
  tracking: 'tracking (default)',
  pubsub: 'pub/sub (`tracking: false`)',
  off: 'off (`bus: false`)',
};

/** How each floor row (see `WriteSetting.floor`) is named on the page. */
const FLOOR_LABEL: Record<'tracking' | 'pubsub', string> = {
  tracking: 'floor under tracking: bus off, Redis tracking turned on by hand, and the `PING` fence',
  pubsub:
    'floor under pub/sub: bus off, one `PUBLISH` per batch behind its `SET`s, and the `PING` fence',
};
const writeLabel = (w: WriteCost) =>
  w.floor === undefined ? BUS_LABEL[w.bus] : FLOOR_LABEL[w.floor];

/** The row of a write-cost setting without a peer: a bus mode, or with `floor` the floor under it. */
function writeRow(
  c: CoherenceResult | undefined,
  bus: BusSetting,
  floor?: 'tracking' | 'pubsub',
): WriteCost | undefined {
  return c?.writes.rows.find((w) => w.bus === bus && !w.peer && w.floor === floor);
}

/** A latency that may be "never" (the key was still in L1 when the watcher gave up). */
const latency = (v: number) => (Number.isFinite(v) ? ms(v) : 'never');
const pct = (v: number) => `${v.toFixed(1)}%`;
const perS = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
/** A ratio to three decimals: the write-cost bar is 5%, and its medians are a few tenths apart. */
const ratio3 = (v: number) => `${v.toFixed(3)}×`;
/** A median's confidence interval, or n/a (runs before it was computed). */
const interval = (i: readonly [number, number] | undefined) =>
  i === undefined || i.some(Number.isNaN) ? 'n/a' : `${ratio3(i[0])}–${ratio3(i[1])}`;

/** The bars of the coherence scenario: delete → other L1 p99, and the bus's cost on `set`. */
export function coherenceBars(c: CoherenceResult | undefined): Bar[] {
  const eviction = (mode: 'tracking' | 'pubsub') => c?.latency.find((l) => l.mode === mode);
  const write = (bus: BusSetting) => writeRow(c, bus);
  return [
    ...(['tracking', 'pubsub'] as const).map((mode): Bar => ({
      scenario: 'coherence',
      measure: `\`delete()\` resolved on instance A → key missing from instance B's L1, p99, bus ${mode === 'tracking' ? 'tracking' : 'pub/sub'}`,
      bar: '≤ 20 ms',
      value: eviction(mode)?.p99Ms,
      format: latency,
      pass: (v) => v <= 20,
    })),
    ...(['tracking', 'pubsub'] as const).map((bus): Bar => ({
      scenario: 'coherence',
      measure: `\`set\` throughput of one instance (${WRITE_INFLIGHT} in flight), bus ${bus === 'tracking' ? 'tracking' : 'pub/sub'} over bus off, same round`,
      bar: '≥ 0.95×',
      value: write(bus)?.ratio,
      format: ratio3,
      pass: (v) => v >= 0.95,
    })),
  ];
}

/**
 * The sentence that follows the bars: the floor under each write-cost bar, measured in the same
 * rounds; undefined for a run without floor rows.
 */
export function coherenceFloors(c: CoherenceResult | undefined): string | undefined {
  const floors = (['tracking', 'pubsub'] as const).flatMap((mode) => {
    const floor = writeRow(c, 'off', mode);
    return floor === undefined
      ? []
      : [
          `${ratio3(floor.ratio.median)} (95% confidence interval ${interval(floor.ratioInterval)}) under ${mode === 'tracking' ? 'tracking' : 'pub/sub'}`,
        ];
  });
  if (floors.length === 0) return undefined;
  return (
    "For scale, in the same rounds: the floor under each of the bus's write-cost bars (only what any bus in that mode must do to keep the README's promise, done by hand on a bus-off app; see \"The bus's cost on writes\") reaches " +
    `${floors.join(' and ')} of bus off.`
  );
}

/** The page's section on the coherence scenario (its chart goes through `embed`). */
export function coherenceSection(
  c: CoherenceResult,
  embed: (file: string, chart: Chart) => string,
): string[] {
  const out: string[] = ['## Coherence across instances', ''];
  out.push(
    "Measured by the `coherence` scenario of `npm run bench` (alone: `npm run bench -- --only coherence`). Every instance is its own Node process (forked by the bench), a Nest application context with `CacheModule.forRoot({ local: { backend: 'memory' }, shared: { backend: 'redis' } })`, all on one private `redis-server`. " +
      'The invalidation bus runs in tracking mode (the default: Redis `CLIENT TRACKING … BCAST` reports every change of a key under the namespace to the other instances, nothing is published for a key write or delete), ' +
      'in pub/sub mode (`bus: { tracking: false }`: every write and invalidation is published as a message once done), or is off (`bus: false`).',
    '',
  );
  if (c.loadAverage !== undefined)
    out.push(
      `The machine's 1-minute load average as each part below ended: ${c.loadAverage.map((l) => l.toFixed(1)).join(', ')} ` +
        "(the bench's own processes count in it; a figure well above the core count means other work shared the machine, which shows most in the tail latencies and in throughput).",
      '',
    );
  out.push("### Delete on one instance → gone from another instance's L1", '');
  out.push(
    `| bus | deletes | p50 | p99 | max | already gone when \`delete()\` resolved | still in L1 after ${EVICTION_TIMEOUT_MS / 1000} s |`,
    '|---|---|---|---|---|---|---|',
  );
  for (const l of c.latency)
    out.push(
      `| ${BUS_LABEL[l.mode]} | ${l.deletes} | ${cell(l.p50Ms, latency)} | ${cell(l.p99Ms, latency)} | ${latency(l.maxMs)} | ${l.beforeResolve} | ${l.timeouts} |`,
    );
  out.push('');
  out.push(
    `Instance B stores a new key (both tiers) and checks that its L1 holds it; B then looks at its own L1 once per event-loop turn while instance A calls \`delete(key)\`. ` +
      "B looks with `getOrSet(key, factory, { tier: 'local' })`: a read limited to L1 never asks Redis, so it cannot fill L1 again, and its factory returns `undefined`, which is not stored; the factory being called is the miss. " +
      "The figure is the time of B's first miss minus the time A's `delete()` resolved, each process reading the machine's monotonic clock (`process.hrtime`, shared by every process, sub-millisecond): " +
      `the bench estimated B's clock ${Math.abs(c.clockSkewMs * 1000).toFixed(0)} µs ${c.clockSkewMs >= 0 ? 'ahead of' : 'behind'} A's (± ${(c.clockUncertaintyMs * 1000).toFixed(0)} µs, half an IPC round trip). ` +
      "A miss seen before A's call had resolved counts as 0 ms. " +
      `${c.rounds} rounds, each with ${c.latency[0]?.deletes !== undefined ? c.latency[0].deletes / c.rounds : '?'} deletes per bus mode (modes in a rotated order), after 20 unrecorded ones per mode; ` +
      'p50 and p99 over every delete of the run, in brackets the lowest and highest of the same percentile within one round. ' +
      "In tracking mode Redis pushes the change to B's subscriber in the same event-loop turn as its reply to A, so B often misses the key before A's call has resolved; " +
      "in pub/sub mode A publishes once its delete is done (on the next tick, merged with the tick's other invalidations), and its `delete()` resolves when Redis has accepted the message, which Redis has by then written to B's subscriber: one more Redis round trip before A resolves, and B's miss comes once B has read and applied the message. " +
      `A key still in B's L1 after ${EVICTION_TIMEOUT_MS / 1000} s counts as never evicted.`,
    '',
  );
  out.push(
    embed('coherence.svg', {
      title: "Coherence: delete() resolved on A → gone from B's L1, p99",
      rows: c.latency.map((l) => ({ label: `bus ${l.mode}`, value: l.p99Ms, ours: true })),
      references: [{ value: 20, label: 'bar 20 ms' }],
      format: latency,
    }),
    '',
  );
  out.push("### The bus's cost on writes", '');
  out.push(
    '| bus | another instance subscribed | `set` ops/s | ratio to bus off (range over rounds) | 95% confidence interval of that median | CPU per `set`, writing process | CPU per `set`, Redis |',
    '|---|---|---|---|---|---|---|',
  );
  for (const w of c.writes.rows)
    out.push(
      `| ${writeLabel(w)} | ${w.peer ? 'yes' : 'no'} | ${cell(w.opsPerSec, rps)} | ${cell(w.ratio, ratio3)} | ${w.bus === 'off' && w.floor === undefined ? '' : interval(w.ratioInterval)} | ${cell(w.cpuUsPerSet, us)} | ${cell(w.redisUsPerSet, us)} |`,
    );
  out.push('');
  out.push(
    `One writer process calls \`set\` (a ${JSON.stringify(ITEM).length} B JSON value, 1,000 keys, both tiers) with ${WRITE_INFLIGHT} calls in flight: alone in its namespace (the bars: the cost on the write path, in the writer's process and in Redis), or while a second instance of its namespace is subscribed and evicts what it is told to, on the same machine as the writer and Redis (its work competes with theirs here; on separate hosts it would not). ` +
      `The writer holds one app per setting, each in its own namespace, all open for the whole measurement (and the second instance one per setting that has it), and drives them in turn: ${c.writes.rounds} rounds of ${c.writes.ms} ms per setting, in a rotated order, after ${WRITE_WARM_MS} ms of unmeasured writes per setting; each ratio is to the bus-off throughput of the same round. The table gives the median ratio, its range over the rounds, and a 95% confidence interval of the median (the 2.5th and 97.5th percentiles of the medians of 2,000 resamples of the rounds): this machine's speed drifts by more than the 5% bar between two measurements a second apart, so the bars are judged on the median of many short rounds, and the interval says how far that median may itself be off. ` +
      "CPU per `set` is the process's `process.cpuUsage()`, and the redis-server's `INFO cpu`, over the measurement, divided by the sets. " +
      "In tracking mode a write publishes nothing: Redis notes the key for its tracking report, which goes to the other instances of the namespace. In pub/sub mode the writes of one tick go out as one merged `PUBLISH`, sent behind their `SET`s on the same connection (in the same auto-pipeline) without waiting for their answers, and the writer's own subscriber also receives the message and drops it. In both modes each `set` resolves once Redis has answered a `PING` sent after the write's (or the `PUBLISH`'s) answer: one more round trip per batch of answers, shared by the writes they complete, which proves that Redis has written the eviction to every other instance's connection (README, \"Running several instances\"). " +
      (c.writes.rows.some((w) => w.floor !== undefined)
        ? "The two floor rows are bus-off apps of the same writer to which the bench adds, by hand, only what any bus in that mode must do to keep that promise, and nothing of the library's bus (no message format, queue, retries or subscriber logic): under tracking, `CLIENT TRACKING on BCAST PREFIX <namespace>: NOLOOP` redirected to a subscriber connection that only listens, and the fence; under pub/sub, the keys set in one tick published (joined by newlines) at its end behind their `SET`s, to a channel the writer's own subscriber listens to as every instance's does, and the fence after the `PUBLISH`'s answer. The fence times its `PING` as the bus's does on a single node: sent once the read that brings the last answer Redis owed has been parsed, and shared while nothing more is read."
        : ''),
    '',
    whereWriteCostComesFrom(c),
    '',
  );
  const f = c.fanout;
  const keysPerReport = f.rows
    .filter((r) => r.bus === 'tracking' && r.receivedPerS.median > 0)
    .map(
      (r) =>
        `${(r.keysPerS.median / r.receivedPerS.median).toFixed(1)} with ${r.instances} instances`,
    );
  out.push('### Fan-out: messages and CPU per instance', '');
  out.push(
    '| bus | instances | writes/s per instance | CPU per instance | CPU of the busiest instance | published/s per instance | invalidations received/s per instance | keys evicted/s per instance | Redis CPU |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const row of f.rows)
    out.push(
      `| ${BUS_LABEL[row.bus]} | ${row.instances} | ${perS(row.writesPerS.median)} | ${cell(row.cpuPct, pct)} | ${cell(row.cpuPctMax, pct)} | ${perS(row.sentPerS.median)} | ${perS(row.receivedPerS.median)} | ${perS(row.keysPerS.median)} | ${cell(row.redisCpuPct, pct)} |`,
    );
  out.push('');
  out.push(
    `With ${[...new Set(f.rows.map((r) => r.instances))].join(', ')} instances, every instance calls \`set\` on a random key out of 1,000 at ${f.rate} a second for ${f.seconds} s, all at once, in a namespace of its own per run; ${f.rounds} round(s) per instance count, the three bus settings in a rotated order in each; medians across rounds (CPU with its range). ` +
      'CPU is `process.cpuUsage()` of each instance over the writes, in % of one core, its own writes included: the bus-off row is the baseline. ' +
      "Published and received are the bus's counters (`sent`, `received`): in tracking mode a received invalidation is one Redis tracking report, which may carry several keys; keys evicted counts the keys of every invalidation received. " +
      "Redis CPU is the server's `used_cpu_user + used_cpu_sys` (`INFO cpu`) over the same seconds, in % of one core." +
      (keysPerReport.length > 1
        ? ` All instances and Redis share this machine's cores, and the busier they are, the more each message carries: keys per tracking report ${keysPerReport.join(', ')} here. ` +
          'So at the larger counts an instance receives fewer, larger messages than it would on a host of its own, and likely spends less CPU on them than it would there.'
        : ''),
    '',
  );
  return out;
}

/** The Method bullet of the coherence scenario. */
export function coherenceMethod(c: CoherenceResult): string {
  return (
    `- **Coherence**: instances are forked processes, each a Nest application context with a memory L1 and a Redis L2, on a private \`redis-server\`; ` +
    `${c.latency.reduce((n, l) => n + l.deletes, 0)} deletes timed from \`delete()\` resolving on one instance to the key missing from another's L1 (read without refilling it), ` +
    `\`set\` throughput with the bus in tracking mode, in pub/sub mode and off, and a fan-out of ${[...new Set(c.fanout.rows.map((r) => r.instances))].join(', ')} instances writing ${c.fanout.rate}/s each. Details under "Coherence across instances".`
  );
}

/**
 * The page's account of the bus's cost on `set`: this run's added time per `set` in each mode, what
 * it is made of, and how the bus compares with the floor under it (in runs that measured one).
 */
function whereWriteCostComesFrom(c: CoherenceResult): string {
  const off = writeRow(c, 'off');
  const perSet = (w: WriteCost) => 1e6 / w.opsPerSec.median;
  const intro =
    "**Where the cost on writes comes from.** ioredis sends one auto-pipeline at a time on a connection, so with 100 calls in flight the writer works in batches: it prepares about 100 `SET`s, waits while Redis runs them, then waits for the answer of the `PING` that the bus sends once the last of those answers has been read (on a single node; the batch's calls share it). Whatever the bus adds to Redis's work or to those waits is time in which the writer has nothing to do. ";
  if (off === undefined) return intro;
  const modes = (['tracking', 'pubsub'] as const).flatMap((mode) => {
    const bus = writeRow(c, mode);
    const floor = writeRow(c, 'off', mode);
    if (bus === undefined) return [];
    const added = (w: WriteCost) => us(perSet(w) - perSet(off));
    const cpu = (w: WriteCost) =>
      `Redis's CPU per \`set\` ${signedUs(w.redisUsPerSet.median - off.redisUsPerSet.median)}, the writer's ${signedUs(w.cpuUsPerSet.median - off.cpuUsPerSet.median)}`;
    const name = mode === 'tracking' ? 'In tracking mode' : 'In pub/sub mode';
    return [
      `${name} the bus adds ${added(bus)} to each \`set\` (${cpu(bus)}) and reaches ${ratio3(bus.ratio.median)} (${interval(bus.ratioInterval)})` +
        (floor === undefined
          ? '.'
          : `; its floor adds ${added(floor)} (${cpu(floor)}) and reaches ${ratio3(floor.ratio.median)} (${interval(floor.ratioInterval)}): ${against(bus, floor)}.`),
    ];
  });
  return (
    intro +
    `In this run a \`set\` takes ${us(perSet(off))} with the bus off (1 / throughput), so the 5% budget is ${us(perSet(off) * 0.05)}. ` +
    modes.join(' ') +
    " What the floors hold: under tracking, Redis records every key written under a tracked prefix for its broadcast, even when no other client is to be told (NOLOOP filters the report, not the bookkeeping), and answers the `PING`; under pub/sub, Redis copies each batch's message to every subscriber of the channel, the writer's own included (Redis has no way to leave the publisher out), the writer reads it back, and the `PING` follows the `PUBLISH`'s answer. Without the fence a change could resolve before Redis has written its eviction to another instance: with the fence taken out (an experiment, not an option), two forked instances on two busy cores read 27 stale values in 1,200 changes in pub/sub mode (2026-12-06). " +
    "The floors are estimates, not strict bounds: the bench adds them around `set`, with one more `await` per call than the bus has inside it, so a bus can come out above its floor. Where a bus reaches its floor (the intervals overlap, or it is above), what is left of its cost in that mode is what the floor holds; where it is below, the difference is the bus's own work. Both are fixed costs per batch of writes, so the ratios move with the machine's speed: the faster a `set` runs, the larger their share of it."
  );
}

/** How a bus setting's ratio compares with its floor's, judged on their confidence intervals. */
function against(bus: WriteCost, floor: WriteCost): string {
  const [busLow, busHigh] = bus.ratioInterval ?? [bus.ratio.median, bus.ratio.median];
  const [floorLow, floorHigh] = floor.ratioInterval ?? [floor.ratio.median, floor.ratio.median];
  if (busHigh < floorLow)
    return `the bus is below its floor by more than the intervals allow, ${(floor.ratio.median - bus.ratio.median).toFixed(3)} of bus off: what it does beyond the floor (its message format with the sender's id, merging, the retry queue, the deadline on each publish) costs that much here`;
  if (busLow > floorHigh)
    return "the bus is above its floor by more than the intervals allow (the floor's fence is added around `set` by the bench, one more `await` per call than the bus's inside it)";
  return 'the two intervals overlap: the bus costs what its floor does, within what this bench can tell apart';
}
