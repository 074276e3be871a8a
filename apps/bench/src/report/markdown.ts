import type { Summary } from '../infra/stats.js';
import { analysis, httpRoundRatio, roundRatio } from './analysis.js';
import { coherenceBars, coherenceFloors, coherenceMethod, coherenceSection } from './coherence.js';
import { bytes, cell, count, ms, ratio, rps, signedUs, us, type Bar } from './format.js';
import { BIG_ITEM, ITEM, ORIGIN_MS } from '../servers/bodies.js';
import type { LibraryScenarioResult } from '../scenarios/library.js';
import type { HttpScenarioResult } from '../scenarios/http.js';
import { INVALIDATION_PATTERN } from '../scenarios/invalidation.js';
import type { BenchResults } from './results.js';
import { renderChart, type Chart, type ChartRow } from './svg.js';

/** A report: the markdown page and the SVG files it embeds (by file name, written beside it in `benchmarks/`). */
export interface Report {
  readonly markdown: string;
  readonly charts: ReadonlyMap<string, string>;
}

/** Where the charts live, relative to the page. */
export const CHART_DIR = 'benchmarks';
/** The raw results of the run, saved beside the charts. */
export const RESULTS_FILE = 'results.json';

function bars(r: BenchResults): Bar[] {
  const http = (res: HttpScenarioResult | undefined, id: string) =>
    res?.contenders.find((c) => c.id === id);
  const lib = (res: LibraryScenarioResult | undefined, id: string) =>
    res?.contenders.find((c) => c.id === id);
  const list: Bar[] = [
    {
      scenario: 'HTTP hit, Fastify',
      measure: 'req/s over raw, `memory` L1 hit',
      bar: '≥ 0.92×',
      value: http(r.fastify, 'ours-memory')?.ratio,
      format: ratio,
      pass: (v) => v >= 0.92,
    },
    {
      scenario: 'HTTP hit, Fastify',
      measure: 'req/s over raw, `memory-no-serializer` L1 hit',
      bar: '≥ 0.92×',
      value: http(r.fastify, 'ours-nos')?.ratio,
      format: ratio,
      pass: (v) => v >= 0.92,
    },
    {
      scenario: 'HTTP hit, Fastify',
      measure: 'extra server CPU per hit over raw, `memory`',
      bar: '≤ 8 µs',
      value: http(r.fastify, 'ours-memory')?.extraCpuUs,
      format: signedUs,
      pass: (v) => v <= 8,
    },
    {
      scenario: 'HTTP hit, Fastify',
      measure: 'extra server CPU per hit over raw, `memory-no-serializer`',
      bar: '≤ 8 µs',
      value: http(r.fastify, 'ours-nos')?.extraCpuUs,
      format: signedUs,
      pass: (v) => v <= 8,
    },
    {
      scenario: 'HTTP hit, Express',
      measure: 'req/s over raw, `memory` L1 hit',
      bar: '≥ 0.97×',
      value: http(r.express, 'ours-memory')?.ratio,
      format: ratio,
      pass: (v) => v >= 0.97,
    },
    {
      scenario: 'HTTP hit, Express',
      measure: 'req/s over raw, `memory-no-serializer` L1 hit',
      bar: '≥ 0.97×',
      value: http(r.express, 'ours-nos')?.ratio,
      format: ratio,
      pass: (v) => v >= 0.97,
    },
    {
      scenario: 'HTTP L2 hit',
      measure: 'req/s over raw, Redis-only tier, Fastify',
      bar: '≥ 0.85×',
      value: http(r.fastify, 'ours-redis')?.ratio,
      format: ratio,
      pass: (v) => v >= 0.85,
    },
    ...http4kBars(r),
    {
      scenario: 'library get',
      measure: '`CacheService.get` L1 hit (`memory-no-serializer`) over raw lru-cache',
      bar: '≥ 0.25×',
      value: lib(r.libraryGet, 'ours-nos')?.ratio,
      format: ratio,
      pass: (v) => v >= 0.25,
    },
    {
      scenario: 'library get',
      measure:
        '`CacheService.get` L1 hit (`memory`, a copy of the value per read) over raw lru-cache',
      bar: '≥ 0.25×',
      value: lib(r.libraryGet, 'ours-memory')?.ratio,
      format: ratio,
      pass: (v) => v >= 0.25,
    },
    {
      scenario: 'library get',
      measure:
        '`CacheService.get` L1 hit (`memory`) over cache-manager 7 memory `get`, same round (issue 9; cache-manager hands out the stored object, `memory` a copy)',
      bar: '≥ 1×',
      value: roundRatio(lib(r.libraryGet, 'ours-memory'), lib(r.libraryGet, 'cm-memory')),
      format: ratio,
      pass: (v) => v >= 1,
    },
    {
      scenario: 'library get',
      measure: '`CacheService.get` L1 hit (`memory-no-serializer`) over raw lru-cache (issue 9)',
      bar: '≥ 0.10×',
      value: lib(r.libraryGet, 'ours-nos')?.ratio,
      format: ratio,
      pass: (v) => v >= 0.1,
    },
    {
      scenario: 'L2 throughput',
      measure: '`getOrSet` Redis hits, 100 in flight, over raw ioredis',
      bar: '≥ 0.8×',
      value: lib(r.l2, 'ours-redis')?.ratio,
      format: ratio,
      pass: (v) => v >= 0.8,
    },
    {
      scenario: 'stampede',
      measure: `origin calls for ${r.stampede?.requests ?? 200} concurrent cold requests (worst round)`,
      bar: 'exactly 1',
      value: r.stampede?.contenders[0] && {
        ...r.stampede.contenders[0].originCalls,
        median: r.stampede.contenders[0].originCalls.max,
      },
      format: count,
      pass: (v) => v === 1,
    },
    {
      scenario: 'memory',
      measure: 'heap per entry, `memory-no-serializer` over raw lru-cache',
      bar: '≤ 1.2×',
      value: r.memory?.contenders.find((c) => c.id === 'ours-nos')?.ratio,
      format: ratio,
      pass: (v) => v <= 1.2,
    },
    {
      scenario: 'memory',
      measure: 'heap per entry, `memory-no-serializer` over raw lru-cache (issue 9)',
      bar: '≤ 1.25×',
      value: r.memory?.contenders.find((c) => c.id === 'ours-nos')?.ratio,
      format: ratio,
      pass: (v) => v <= 1.25,
    },
    {
      scenario: 'invalidation at scale',
      measure: 'longest Redis command during `deletePattern` (worst round)',
      bar: '≤ 10 ms',
      value: r.invalidation && {
        ...r.invalidation.maxCommandMs,
        median: r.invalidation.maxCommandMs.max,
      },
      format: ms,
      pass: (v) => v <= 10,
    },
    ...coherenceBars(r.coherence),
  ];
  return list;
}

/** Issue 11: the ~4 KB body, and the small body against the peer and the interceptor floor. */
function http4kBars(r: BenchResults): Bar[] {
  const http = (res: HttpScenarioResult | undefined, id: string) =>
    res?.contenders.find((c) => c.id === id);
  const list: Bar[] = [];
  for (const [res, name, bar] of [
    [r.fastify, 'Fastify', 1.3],
    [r.express, 'Express', 1.0],
  ] as const) {
    list.push(
      {
        scenario: `HTTP 4 KB body, ${name}`,
        measure: '`memory` L1 hit over the raw handler returning the same object (issue 11)',
        bar: `≥ ${bar.toFixed(1)}×`,
        value: http(res, 'ours-memory-4k')?.ratio,
        format: ratio,
        pass: (v) => v >= bar,
      },
      {
        scenario: `HTTP hit, ${name}`,
        measure: '`memory` L1 hit over @nestjs/cache-manager memory hit, same round (issue 11)',
        bar: '≥ 1×',
        value: httpRoundRatio(http(res, 'ours-memory'), http(res, 'cm-memory')),
        format: ratio,
        pass: (v) => v >= 1,
      },
      {
        scenario: `HTTP hit, ${name}`,
        measure: '`memory` L1 hit over the no-op interceptor floor, same round (issue 11)',
        bar: '≥ 0.97×',
        value: httpRoundRatio(http(res, 'ours-memory'), http(res, 'noop')),
        format: ratio,
        pass: (v) => v >= 0.97,
      },
    );
  }
  list.push({
    scenario: 'HTTP L2 hit',
    measure: 'Redis-only hit over @nestjs/cache-manager on Redis, Fastify, same round (issue 11)',
    bar: '≥ 1.2×',
    value: httpRoundRatio(http(r.fastify, 'ours-redis'), http(r.fastify, 'cm-redis')),
    format: ratio,
    pass: (v) => v >= 1.2,
  });
  return list;
}

function barCell(b: Bar): string {
  if (b.value === undefined || b.value.n === 0) return 'not run';
  return b.pass(b.value.median) ? '✅ met' : '❌ missed';
}

function chartRows<T extends { id: string; label: string }>(
  rows: readonly T[],
  value: (row: T) => Summary,
): ChartRow[] {
  return rows.map((row) => ({
    label: row.label.replace(/`/g, ''),
    value: value(row),
    ours: row.id.startsWith('ours'),
  }));
}

/** Builds the page and its charts from a run's results. */
export function buildReport(r: BenchResults): Report {
  const charts = new Map<string, string>();
  const embed = (file: string, chart: Chart) => {
    charts.set(file, renderChart(chart));
    return `![${chart.title}](${CHART_DIR}/${file})`;
  };
  const out: string[] = [];
  const p = r.profile;
  out.push('# Benchmarks', '');
  out.push(
    `Generated by \`npm run bench${p.name === 'quick' ? ' -- --quick' : ''}\` on ${r.env.date} (${p.name} profile, ${r.durationS.toFixed(0)} s). ` +
      'Every figure below comes from that one run, on one machine: nest-tiered-cache and the libraries a NestJS user would otherwise pick, side by side. ' +
      'Medians over alternating rounds, with the min–max across rounds in brackets; ratios are taken within a round and never across runs.',
    '',
  );
  if (p.name === 'quick')
    out.push(
      '> **Quick profile**: fewer, shorter rounds and smaller data sets. The figures are indicative only; run `npm run bench` for the real ones.',
      '',
    );
  out.push('## The bars', '', '| scenario | what | bar | measured | |', '|---|---|---|---|---|');
  for (const b of bars(r))
    out.push(
      `| ${b.scenario} | ${b.measure} | ${b.bar} | ${cell(b.value, b.format)} | ${barCell(b)} |`,
    );
  out.push('');
  const floor = [r.fastify, r.express]
    .map((res) => ({
      res,
      noop: res?.contenders.find((c) => c.id === 'noop'),
      cm: res?.contenders.find((c) => c.id === 'cm-memory'),
    }))
    .filter((x) => x.noop !== undefined);
  if (floor.length > 0) {
    out.push(
      'For scale, in the same rounds: ' +
        floor
          .map(
            ({ res, noop, cm }) =>
              `on ${res!.scenario.platform}, the raw route behind a **no-op interceptor** reaches ${cell(noop!.ratio, ratio)} of raw (${cell(noop!.extraCpuUs, signedUs)} CPU per request)` +
              (cm
                ? `, and @nestjs/cache-manager's memory hit ${cell(cm.ratio, ratio)} (${cell(cm.extraCpuUs, signedUs)})`
                : ''),
          )
          .join('; ') +
        ". Nest's interceptor machinery alone is the floor of any interceptor-based cache.",
      '',
    );
  }
  const busFloors = coherenceFloors(r.coherence);
  if (busFloors !== undefined) out.push(busFloors, '');
  out.push('## Method', '');
  out.push(
    `- **HTTP**: each server is its own Node process (a Nest app on Express or Fastify) on loopback; the load generator, autocannon, is another process with ${p.connections} connections, no pipelining, ${p.httpSeconds} s per run after a ${p.warmupSeconds} s warm-up per server. ` +
      `${p.httpRounds} rounds; in each round every contender runs once, in a rotated order (A B C, then B C A, …). The route is \`GET /item/:id\` answering a small JSON constant (${JSON.stringify(ITEM).length} B); the uncached origin waits ${ORIGIN_MS} ms first, as a database query would. ` +
      `The "4 KB body" rows answer a larger constant (${JSON.stringify(BIG_ITEM).length} B of JSON) and are compared with the raw handler returning that object (Nest serializes it on every request); the 304 row sends \`If-None-Match\` with the answer's ETag on every request. ` +
      "Server CPU per request is the server process's user + system CPU time over the run (`process.cpuUsage()`, read over IPC before and after) divided by the requests completed. " +
      'Before measuring, every cached contender is checked to answer from its cache (`X-Cache: HIT` for ours).',
    `- **Library**: each contender runs in its own process on 1,000 stored keys of the same JSON value; \`${p.libraryMs}\` ms per measurement, ${p.libraryRounds} alternating rounds after a warm-up. ` +
      '`get` is called one after the other (`await` each); the raw lru-cache ceiling is a synchronous `get` in a loop. L2 throughput keeps 100 calls in flight.',
    `- **Stampede**: ${r.stampede?.requests ?? 200} concurrent requests (one connection each) for a key nobody asked for yet, on a route whose origin takes ${r.stampede?.originMs ?? 50} ms; the server counts the origin's calls. Fastify.`,
    `- **Memory**: one fresh \`node --expose-gc\` process per contender and round stores ${p.memoryEntries.toLocaleString('en-US')} values of ~200 B of JSON under distinct keys; the cost is the growth of V8 heap + ArrayBuffers (where serialized entries live) across the writes, after full GCs, divided by the entry count. What a store allocates when it is created (lru-cache's index arrays) is left out for every contender; what it allocates on writes is counted.`,
    `- **Invalidation**: a private Redis is filled with ${p.invalidationKeys.toLocaleString('en-US')} keys in the cache's own layout (\`<namespace>:<key>\`, by \`DEBUG POPULATE\`), ${p.invalidationMatches.toLocaleString('en-US')} of which match; \`CacheService.deletePattern('${INVALIDATION_PATTERN}')\` is timed while Redis logs every command (\`SLOWLOG\` with a 0 µs threshold, and the latency monitor at 1 ms).`,
    ...(r.coherence === undefined ? [] : [coherenceMethod(r.coherence)]),
    '- Every Redis is a private `redis-server` started by the bench on a free loopback port, with persistence off.',
    '',
  );
  out.push('## Environment', '', '| | |', '|---|---|');
  out.push(
    `| machine | ${r.env.cpu}, ${r.env.cores} cores, ${r.env.os} |`,
    `| Node.js | ${r.env.node} |`,
    `| Redis | ${r.env.redis} |`,
  );
  for (const [name, version] of Object.entries(r.env.versions))
    out.push(`| ${name} | ${version} |`);
  out.push('');

  for (const [res, file, bar] of [
    [r.fastify, 'http-fastify.svg', 0.92],
    [r.express, 'http-express.svg', 0.97],
  ] as const) {
    if (res === undefined) continue;
    out.push(`## ${res.scenario.title}`, '');
    out.push(
      '| contender | req/s | ratio to raw (of its body) | server CPU / request | extra CPU over raw | p99 latency |',
      '|---|---|---|---|---|---|',
    );
    for (const c of res.contenders) {
      out.push(
        `| ${c.label} | ${cell(c.rps, rps)} | ${cell(c.ratio, ratio)} | ${cell(c.cpuUs, us)} | ${c.id === 'raw' || c.id === 'raw-4k' ? '—' : cell(c.extraCpuUs, signedUs)} | ${cell(c.p99Ms, ms)} |`,
      );
    }
    out.push('');
    const refs = [
      { value: 1, label: 'raw 1×' },
      { value: bar, label: `bar ${bar}×` },
    ];
    if (res.scenario.platform === 'fastify') refs.push({ value: 0.85, label: 'L2 0.85×' });
    out.push(
      embed(file, {
        title: `${res.scenario.title}: req/s relative to the raw handler`,
        rows: chartRows(res.contenders, (c) => c.ratio),
        references: refs,
        format: ratio,
      }),
      '',
    );
  }
  if (r.fastify !== undefined) {
    const l2 = r.fastify.contenders.find((c) => c.id === 'ours-redis');
    out.push('## HTTP L2 hit', '');
    out.push(
      'Measured in the Fastify run above: nest-tiered-cache with a Redis-only tier (no L1), so every request is a Redis round trip.',
      '',
    );
    const cmRedis = r.fastify.contenders.find((x) => x.id === 'cm-redis');
    out.push(
      '| contender | ratio to raw | extra CPU over raw | req/s over @nestjs/cache-manager on Redis, same round |',
      '|---|---|---|---|',
    );
    for (const id of ['ours-redis', 'floor-ioredis', 'floor-node-redis', 'cm-redis'] as const) {
      const c = r.fastify.contenders.find((x) => x.id === id);
      if (c !== undefined)
        out.push(
          `| ${c.label} | ${cell(c.ratio, ratio)} | ${cell(c.extraCpuUs, signedUs)} | ${id === 'cm-redis' ? '1.00×' : cell(httpRoundRatio(c, cmRedis), ratio)} |`,
        );
    }
    out.push('');
    if (l2 === undefined) out.push('(not measured)', '');
  }
  for (const [res, file, bar, what] of [
    [r.libraryGet, 'library-get.svg', 0.25, 'ratio to raw lru-cache'],
    [r.l2, 'l2-throughput.svg', 0.8, 'ratio to raw ioredis'],
    [r.cluster, 'cluster-throughput.svg', 0.8, 'ratio to raw ioredis on one node'],
  ] as const) {
    if (res === undefined) continue;
    out.push(`## ${res.scenario.title}`, '');
    out.push(`| contender | ops/s | ${what} |`, '|---|---|---|');
    for (const c of res.contenders)
      out.push(`| ${c.label} | ${cell(c.opsPerSec, rps)} | ${cell(c.ratio, ratio)} |`);
    out.push('');
    out.push(
      embed(file, {
        title: `${res.scenario.title}: ops/s, ${what}`,
        rows: chartRows(res.contenders, (c) => c.ratio),
        references: [{ value: bar, label: `bar ${bar}×` }],
        format: ratio,
      }),
      '',
    );
  }
  if (r.stampede !== undefined) {
    const s = r.stampede;
    out.push('## Stampede', '');
    out.push(
      `${s.requests} concurrent cold requests, ${s.originMs} ms origin, ${s.rounds} rounds (a new key each round).`,
      '',
    );
    out.push('| contender | origin calls per round | every round |', '|---|---|---|');
    for (const c of s.contenders)
      out.push(`| ${c.label} | ${cell(c.originCalls, count)} | ${c.perRound.join(', ')} |`);
    out.push('');
    out.push(
      embed('stampede.svg', {
        title: `Stampede: origin calls for ${s.requests} concurrent cold requests`,
        rows: chartRows(s.contenders, (c) => c.originCalls),
        references: [{ value: 1, label: 'bar: 1' }],
        format: count,
      }),
      '',
    );
  }
  if (r.memory !== undefined) {
    const m = r.memory;
    out.push('## Memory', '');
    out.push(
      `${m.entries.toLocaleString('en-US')} entries of ~200 B of JSON, ${m.rounds} fresh process(es) per contender.`,
      '',
    );
    out.push('| contender | bytes per entry | ratio to raw lru-cache |', '|---|---|---|');
    for (const c of m.contenders)
      out.push(`| ${c.label} | ${cell(c.bytesPerEntry, bytes)} | ${cell(c.ratio, ratio)} |`);
    out.push('');
    out.push(
      embed('memory.svg', {
        title: 'Memory: bytes per entry relative to raw lru-cache (lower is better)',
        rows: chartRows(m.contenders, (c) => c.ratio),
        references: [{ value: 1.2, label: 'bar 1.2×' }],
        format: ratio,
      }),
      '',
    );
  }
  if (r.invalidation !== undefined) {
    const inv = r.invalidation;
    out.push('## Invalidation at scale', '');
    out.push(
      `\`deletePattern\` over ${inv.keys.toLocaleString('en-US')} Redis keys of which ${inv.matches.toLocaleString('en-US')} match, ${inv.rounds} round(s). The backend walks the keyspace with \`SCAN … MATCH … COUNT 1000\` and removes matches with \`UNLINK\` in batches of at most 500.`,
      '',
    );
    out.push('| measure | value |', '|---|---|');
    out.push(`| wall time of \`deletePattern\` | ${cell(inv.durationMs, ms)} |`);
    out.push(`| keys removed (reported by the call) | ${inv.removed.join(', ')} |`);
    out.push(`| Redis commands sent | ${cell(inv.commands, count)} |`);
    out.push(`| longest single command (SLOWLOG) | ${cell(inv.maxCommandMs, ms)} |`);
    out.push(`| slowest command, worst round | \`${inv.slowestCommand}\` |`);
    out.push(
      `| latency monitor (threshold 1 ms), highest \`command\` event | ${cell(inv.latencyMonitorMaxMs, (v) => (v === 0 ? 'none' : ms(v)))} |`,
    );
    out.push('');
    out.push(
      embed('invalidation.svg', {
        title: 'Invalidation: longest Redis command during deletePattern',
        rows: [{ label: 'nest-tiered-cache deletePattern', value: inv.maxCommandMs, ours: true }],
        references: [{ value: 10, label: 'bar 10 ms' }],
        format: ms,
      }),
      '',
    );
  }
  if (r.coherence !== undefined) out.push(...coherenceSection(r.coherence, embed));
  out.push(...analysis(r));
  return { markdown: out.join('\n'), charts };
}
