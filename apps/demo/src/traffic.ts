/**
 * `npm run demo:traffic`: shows what the cache saves. Starts two demo instances (child processes
 * on free loopback ports, one with the cache and one with CACHE_ENABLED=false), sends both the
 * same deterministic, Zipf-skewed mix of requests, and prints requests, errors, hit rate, database
 * queries and latency side by side.
 *
 *   node dist/apps/demo/traffic.js [--requests 10000] [--concurrency 16] [--url http://127.0.0.1:3000 [--compare]]
 */
import { setMaxListeners } from 'node:events';
import { DemoProcess } from './traffic/demo-process.js';
import { HttpClient } from './traffic/http-client.js';
import { Progress } from './traffic/progress.js';
import { USAGE, parseOptions, type Options } from './traffic/options.js';
import { formatComparison, formatTable, quantile, type RunResult } from './traffic/report.js';
import { MIX, ZIPF_EXPONENT, planWorkload, type PlannedRequest } from './traffic/workload.js';

/** Per-request deadline. */
const REQUEST_TIMEOUT_MS = 10_000;
/** How long an instance may take to boot (PGlite compiles its WebAssembly first). */
const STARTUP_TIMEOUT_MS = 60_000;

/** Rejects when `signal` aborts, with its reason. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return Promise.race([new Promise<void>((resolve) => setTimeout(resolve, ms)), aborted(signal)]);
}

/** Polls `GET /health` until it answers 200 (`ok`, or `degraded` when an optional tier is down). */
async function waitHealthy(label: string, base: string, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${base}/health`, {
        signal: AbortSignal.any([signal, AbortSignal.timeout(2_000)]),
      });
      const body = await res.text();
      if (res.status === 200) return;
      last = `HTTP ${res.status} ${body.slice(0, 200)}`;
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(200, signal);
  }
  throw new Error(
    `${label}: ${base}/health did not answer 200 within ${STARTUP_TIMEOUT_MS / 1000} s (last: ${last})`,
  );
}

interface StatsSnapshot {
  enabled: boolean;
  hits: number;
  misses: number;
  queries: number;
}

async function snapshot(base: string, signal: AbortSignal): Promise<StatsSnapshot> {
  const res = await fetch(`${base}/cache/stats`, {
    signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
  });
  if (!res.ok) throw new Error(`${base}/cache/stats answered HTTP ${res.status}`);
  const stats = (await res.json()) as {
    enabled?: boolean;
    hits?: number;
    misses?: number;
    database?: { queries?: number };
  };
  if (typeof stats.database?.queries !== 'number')
    throw new Error(`${base}/cache/stats has no database.queries: is this the demo app?`);
  return {
    enabled: stats.enabled !== false,
    hits: stats.hits ?? 0,
    misses: stats.misses ?? 0,
    queries: stats.database.queries,
  };
}

/** What is measured of one instance over the run. */
interface Meter {
  label: string;
  base: string;
  client: HttpClient;
  before: StatsSnapshot;
  /** Latency of each request of the plan, by index. */
  latencies: Float64Array;
  errors: number;
  firstError?: string;
  /** Wall time spent driving this instance. */
  busyMs: number;
}

/** Sends `plan[from..to)` to one instance, `concurrency` requests at a time, and measures every one. */
async function drive(
  meter: Meter,
  target: number,
  plan: readonly PlannedRequest[],
  from: number,
  to: number,
  concurrency: number,
  signal: AbortSignal,
  progress: Progress,
): Promise<void> {
  let next = from;
  const started = performance.now();
  const worker = async () => {
    for (let i = next++; i < to; i = next++) {
      const request = plan[i]!;
      const t0 = performance.now();
      try {
        const status = await meter.client.request(
          request.method,
          request.path,
          request.body,
          signal,
        );
        if (status < 200 || status >= 300) {
          meter.errors++;
          meter.firstError ??= `${request.method} ${request.path}: HTTP ${status}`;
        }
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        meter.errors++;
        meter.firstError ??= `${request.method} ${request.path}: ${err instanceof Error ? err.message : String(err)}`;
      }
      meter.latencies[i] = performance.now() - t0;
      progress.tick(target);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, to - from) }, worker));
  meter.busyMs += performance.now() - started;
}

/** Warms the HTTP path of both sides (JIT, connections) with `GET /health`: no cache read, no query. */
async function warmHttp(
  client: HttpClient,
  concurrency: number,
  signal: AbortSignal,
): Promise<void> {
  let left = 200;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) await client.request('GET', '/health', undefined, signal);
    }),
  );
}

async function result(meter: Meter, signal: AbortSignal): Promise<RunResult> {
  const after = await snapshot(meter.base, signal);
  if (meter.firstError !== undefined)
    process.stderr.write(
      `${meter.label}: ${meter.errors} failed requests, the first: ${meter.firstError}\n`,
    );
  const hits = after.hits - meter.before.hits;
  const reads = hits + after.misses - meter.before.misses;
  const sorted = Float64Array.from(meter.latencies).sort();
  return {
    label: meter.label,
    requests: meter.latencies.length,
    errors: meter.errors,
    hitRate: after.enabled && reads > 0 ? hits / reads : undefined,
    databaseQueries: after.queries - meter.before.queries,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    requestsPerSecond: meter.latencies.length / (meter.busyMs / 1000),
  };
}

/** Slices of the plan: the instances take turns slice by slice, so that they do not compete for the CPU and share any noise. */
const SLICES = 10;

async function main(
  options: Options,
  signal: AbortSignal,
  children: DemoProcess[],
): Promise<boolean> {
  const targets: Array<{ label: string; base: string | Promise<string> }> = [];
  if (options.url !== undefined) {
    targets.push({ label: 'cache on', base: options.url });
  } else {
    const on = DemoProcess.start('cache on', { CACHE_ENABLED: 'true' });
    children.push(on);
    targets.push({ label: 'cache on', base: on.ready });
  }
  if (options.url === undefined || options.compare) {
    const off = DemoProcess.start('cache off', { CACHE_ENABLED: 'false' });
    children.push(off);
    targets.push({ label: 'cache off', base: off.ready });
  }
  if (children.length > 0)
    process.stderr.write(
      `starting ${children.length === 1 ? 'a demo instance' : `${children.length} demo instances`} (dist/apps/demo/main.js)...\n`,
    );
  const bases = await Promise.all(
    targets.map(async (target) => {
      const base = await Promise.race([target.base, aborted(signal)]);
      await waitHealthy(target.label, base, signal);
      return base;
    }),
  );

  const plan = planWorkload(options.requests, options.seed);
  const mix = MIX.map(([kind, share]) => `${Math.round(share * 100)}% ${kind}`).join(', ');
  process.stderr.write(
    `workload: ${plan.length} requests to each instance (${mix}; Zipf s=${ZIPF_EXPONENT}, seed ${options.seed}), concurrency ${options.concurrency}\n`,
  );
  for (const [i, target] of targets.entries())
    process.stderr.write(`${target.label}: ${bases[i]}\n`);

  const meters: Meter[] = [];
  try {
    for (const [i, target] of targets.entries()) {
      const client = new HttpClient(bases[i]!, options.concurrency, REQUEST_TIMEOUT_MS);
      meters.push({
        label: target.label,
        base: bases[i]!,
        client,
        before: { enabled: true, hits: 0, misses: 0, queries: 0 },
        latencies: new Float64Array(plan.length),
        errors: 0,
        busyMs: 0,
      });
      await warmHttp(client, options.concurrency, signal);
    }
    for (const meter of meters) meter.before = await snapshot(meter.base, signal);
    const progress = new Progress(
      meters.map((m) => m.label),
      plan.length,
    );
    try {
      for (let slice = 0; slice < SLICES; slice++) {
        const from = Math.floor((plan.length * slice) / SLICES);
        const to = Math.floor((plan.length * (slice + 1)) / SLICES);
        for (const [i, meter] of meters.entries())
          await drive(meter, i, plan, from, to, options.concurrency, signal, progress);
      }
    } finally {
      progress.finish();
    }
  } finally {
    for (const meter of meters) meter.client.close();
  }
  const results: RunResult[] = [];
  for (const meter of meters) results.push(await result(meter, signal));

  process.stdout.write(`\n${formatTable(results)}\n`);
  const on = results.find((r) => r.label === 'cache on');
  const off = results.find((r) => r.label === 'cache off');
  if (on !== undefined && off !== undefined) process.stdout.write(`${formatComparison(on, off)}\n`);
  const failed = results.reduce((sum, r) => sum + r.errors, 0);
  if (failed > 0) process.stderr.write(`${failed} requests failed\n`);
  return failed === 0;
}

function exit(code: number): void {
  // Flush what is buffered, then exit: idle keep-alive sockets must not hold the process.
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

async function run(argv: string[]): Promise<number> {
  let options: Options | undefined;
  try {
    options = parseOptions(argv);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}\n`);
    return 2;
  }
  if (options === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const timeoutMs = options.timeoutMs;
  const children: DemoProcess[] = [];
  const controller = new AbortController();
  // Every request in flight listens to the run's signal.
  setMaxListeners(options.concurrency + 16, controller.signal);
  const deadline = setTimeout(
    () => controller.abort(new Error(`gave up after ${timeoutMs / 1000} s (--timeout)`)),
    timeoutMs,
  );
  const stopChildren = () => Promise.all(children.map((child) => child.stop()));
  // Last resort: never leave a demo instance behind.
  process.once('exit', () => children.forEach((child) => child.killNow()));
  let interrupted: NodeJS.Signals | undefined;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      interrupted = signal;
      process.stderr.write(`\n${signal}: stopping the demo instances\n`);
      controller.abort(new Error(signal));
      void stopChildren().finally(() => exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
  let ok = false;
  try {
    ok = await main(options, controller.signal, children);
  } catch (err) {
    if (interrupted === undefined) {
      process.stderr.write(
        `\ndemo:traffic failed: ${err instanceof Error ? err.message : String(err)}\n`,
      );
      for (const child of children)
        process.stderr.write(`last output of the "${child.label}" instance:\n${child.tail()}\n`);
    }
  } finally {
    clearTimeout(deadline);
    await stopChildren();
  }
  // After a signal, its handler exits (130/143) once the instances are stopped.
  return interrupted !== undefined ? new Promise<number>(() => undefined) : ok ? 0 : 1;
}

exit(await run(process.argv.slice(2)));
