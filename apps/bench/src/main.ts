/**
 * `npm run bench [-- --quick] [--out <page.md>] [--only fastify,express,library,l2,stampede,memory,invalidation,coherence,cluster]`
 * `npm run bench -- --report <results.json> [--out <page.md>]` rebuilds the page from saved results.
 *
 * Measures nest-tiered-cache side by side with @nestjs/cache-manager, bentocache, lru-cache and
 * ioredis in one run on this machine, and writes the markdown page and its SVG charts. A run writes
 * to the git-ignored `.cache/bench/` unless `--out` says otherwise: it never rewrites a tracked
 * file (docs/benchmarks.md) unless asked to.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Child, killAll } from './infra/processes.js';
import { BenchRedis, killAllRedis, redisServerVersion } from './infra/redis-server.js';
import { FULL, QUICK } from './profile.js';
import { buildReport, CHART_DIR, RESULTS_FILE } from './report/markdown.js';
import type { BenchResults, Environment } from './report/results.js';
import { runClusterScenario } from './scenarios/cluster.js';
import { runCoherenceScenario } from './scenarios/coherence.js';
import type { BenchContext } from './scenarios/context.js';
import { runHttpScenario } from './scenarios/http.js';
import { runInvalidationScenario } from './scenarios/invalidation.js';
import { runLibraryScenario } from './scenarios/library.js';
import { runMemoryScenario } from './scenarios/memory.js';
import { runStampedeScenario } from './scenarios/stampede.js';

const SCENARIOS = [
  'fastify',
  'express',
  'library',
  'l2',
  'stampede',
  'memory',
  'invalidation',
  'coherence',
  'cluster',
] as const;
type ScenarioId = (typeof SCENARIOS)[number];

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The page a run writes unless `--out` names another (charts, results beside it): git-ignored. */
const DEFAULT_OUT = path.join(ROOT, '.cache', 'bench', 'benchmarks.md');

function versionOf(name: string): string {
  try {
    return (
      JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  } catch {
    return 'not installed';
  }
}

function environment(): Environment {
  const names = [
    'nest-tiered-cache',
    '@nestjs/core',
    '@nestjs/platform-fastify',
    'fastify',
    '@nestjs/platform-express',
    'express',
    '@nestjs/cache-manager',
    'cache-manager',
    'keyv',
    '@keyv/redis',
    'bentocache',
    'lru-cache',
    'ioredis',
    'ioredis5',
    'autocannon',
  ];
  const versions: Record<string, string> = {};
  for (const name of names)
    versions[name === 'ioredis5' ? 'ioredis (for bentocache, alias ioredis5)' : name] =
      versionOf(name);
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    node: process.version,
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores: os.availableParallelism(),
    os: `${os.type()} ${os.release()}`,
    redis: redisServerVersion().replace(/^Redis server /, ''),
    versions,
  };
}

const USAGE = `usage: npm run bench [-- options]

  --quick               fewer, shorter rounds and smaller data (under 2 minutes)
  --out <file>          where to write the page; its charts and results.json go in benchmarks/
                        beside it. Default .cache/bench/benchmarks.md (git-ignored); pass
                        --out docs/benchmarks.md to publish to the committed page
  --only <list>         comma-separated scenarios: ${SCENARIOS.join(', ')}
  --report <results>    rebuild the page from a previous run's results.json, measuring nothing
  -h, --help            this help

Publish the last run without measuring again:
  npm run bench -- --report .cache/bench/benchmarks/results.json --out docs/benchmarks.md`;

/** Prints a command-line mistake with the usage and exits 2 (nothing was started yet). */
function usageError(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

let values: { quick?: boolean; out?: string; only?: string; report?: string; help?: boolean };
try {
  ({ values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      out: { type: 'string', default: DEFAULT_OUT },
      only: { type: 'string' },
      report: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (err) {
  usageError(err instanceof Error ? err.message : String(err));
}
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const only = new Set<ScenarioId>(
  values.only === undefined ? SCENARIOS : (values.only.split(',') as ScenarioId[]),
);
for (const id of only)
  if (!SCENARIOS.includes(id))
    usageError(`--only: unknown scenario "${id}"; use ${SCENARIOS.join(', ')}`);
const profile = values.quick ? QUICK : FULL;
const out = path.resolve(values.out!);

/** Writes the page, its charts and the raw results (to rebuild the page later with --report). */
function writeReport(results: BenchResults): number {
  const report = buildReport(results);
  const dir = path.join(path.dirname(out), CHART_DIR);
  mkdirSync(dir, { recursive: true });
  writeFileSync(out, report.markdown);
  for (const [file, svg] of report.charts) writeFileSync(path.join(dir, file), svg);
  writeFileSync(path.join(dir, RESULTS_FILE), JSON.stringify(results, null, 2) + '\n');
  return report.charts.size;
}

// --report <results.json>: rebuild the page from a previous run's results, measuring nothing.
if (values.report !== undefined) {
  const charts = writeReport(JSON.parse(readFileSync(values.report, 'utf8')) as BenchResults);
  console.log(`wrote ${out} and ${charts} charts from ${values.report}`);
  process.exit(0);
}

const cleanUp = () => {
  killAll();
  killAllRedis();
};
process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\nbench: ${signal}, stopping every process it started`);
    cleanUp();
    process.exit(130);
  });
}

const started = performance.now();
const env = environment();
const log = (line: string) =>
  console.log(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
log(`${profile.name} profile; writing ${out}`);

const redis = await BenchRedis.start();
const load = Child.start('load generator', 'workers/load-worker.js', []);
const ctx: BenchContext = { profile, redisUrl: redis.url, load, log };
const results: { -readonly [K in keyof BenchResults]?: BenchResults[K] } = {};
let failed = false;
try {
  if (only.has('fastify')) {
    results.fastify = await runHttpScenario(ctx, {
      id: 'fastify',
      title: 'HTTP hit, Fastify',
      platform: 'fastify',
      contenders: [
        'raw',
        'noop',
        'origin',
        'cm-memory',
        'cm-redis',
        'floor-ioredis',
        'floor-node-redis',
        'ours-memory',
        'ours-nos',
        'ours-l1l2',
        'ours-redis',
        'raw-4k',
        'string-4k',
        'noop-4k',
        'noop-string-4k',
        'ours-memory-4k',
        'ours-304',
      ],
    });
  }
  if (only.has('express')) {
    results.express = await runHttpScenario(ctx, {
      id: 'express',
      title: 'HTTP hit, Express',
      platform: 'express',
      contenders: [
        'raw',
        'noop',
        'origin',
        'cm-memory',
        'ours-memory',
        'ours-nos',
        'raw-4k',
        'string-4k',
        'noop-4k',
        'noop-string-4k',
        'ours-memory-4k',
        'ours-304',
      ],
    });
  }
  if (only.has('library')) {
    results.libraryGet = await runLibraryScenario(ctx, {
      id: 'library',
      title: 'Library get (L1 hit)',
      contenders: [
        'lru-raw',
        'lru-promise',
        'lru-ttl-floor',
        'ours-nos',
        'ours-memory',
        'ours-l1l2',
        'cm-memory',
        'cm-memory-json',
        'bento-memory',
        'bento-l1l2',
      ],
      inflight: 1,
    });
  }
  if (only.has('l2')) {
    results.l2 = await runLibraryScenario(ctx, {
      id: 'l2',
      title: 'L2 throughput (Redis hits, 100 in flight)',
      contenders: [
        'ioredis-raw',
        'ioredis-decode',
        'ours-redis',
        'ours-l2-after-l1',
        'cm-redis',
        'bento-redis',
      ],
      inflight: 100,
    });
  }
  if (only.has('stampede')) results.stampede = await runStampedeScenario(ctx);
  if (only.has('memory')) results.memory = await runMemoryScenario(ctx);
  if (only.has('invalidation')) results.invalidation = await runInvalidationScenario(ctx);
  if (only.has('coherence')) results.coherence = await runCoherenceScenario(ctx);
  if (only.has('cluster')) results.cluster = await runClusterScenario(ctx);
} catch (err) {
  failed = true;
  console.error('bench failed:', err instanceof Error ? err.stack : err);
} finally {
  await load.stop();
  await redis.stop();
}

if (!failed) {
  const charts = writeReport({
    ...results,
    profile,
    env,
    durationS: (performance.now() - started) / 1000,
  } as BenchResults);
  log(
    `wrote ${out}, ${charts} charts and ${RESULTS_FILE} in ${path.join(path.dirname(out), CHART_DIR)}`,
  );
}
process.exitCode = failed ? 1 : 0;
