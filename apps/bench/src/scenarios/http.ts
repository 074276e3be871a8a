import { Child } from '../infra/processes.js';
import { rotate, summarize, type Summary } from '../infra/stats.js';
import { BIG_ITEM, ITEM } from '../servers/bodies.js';
import {
  HTTP_CONTENDERS,
  type HttpContender,
  type HttpContenderId,
} from '../servers/contenders.js';
import type { LoadResult } from '../workers/load-worker.js';
import type { BenchContext } from './context.js';

/** One HTTP scenario: the contenders served by one platform, compared with `raw`. */
export interface HttpScenario {
  readonly id: string;
  readonly title: string;
  readonly platform: 'express' | 'fastify';
  readonly contenders: readonly HttpContenderId[];
}

/** The figures of one contender across rounds. */
export interface HttpContenderResult {
  readonly id: HttpContenderId;
  readonly label: string;
  readonly rps: Summary;
  /** Server CPU time per request, in µs. */
  readonly cpuUs: Summary;
  /** req/s over its baseline's (the raw handler of its body) in the same round. */
  readonly ratio: Summary;
  /** req/s of every round, in order (to compare two contenders round by round). */
  readonly rpsPerRound?: readonly number[];
  /** CPU µs per request minus the raw handler's, in the same round. */
  readonly extraCpuUs: Summary;
  readonly p99Ms: Summary;
}

/** An HTTP scenario's results. */
export interface HttpScenarioResult {
  readonly scenario: HttpScenario;
  readonly rounds: number;
  readonly contenders: readonly HttpContenderResult[];
}

const PATH = '/item/1';

/** Starts one server per contender, warms them, then measures them in alternating rounds. */
export async function runHttpScenario(
  ctx: BenchContext,
  scenario: HttpScenario,
): Promise<HttpScenarioResult> {
  const { profile } = ctx;
  if (scenario.contenders[0] !== 'raw')
    throw new Error('the first HTTP contender must be raw (the baseline)');
  for (const id of scenario.contenders) {
    if (!scenario.contenders.includes(baselineOf(id)))
      throw new Error(`${id} needs its baseline ${baselineOf(id)} in the scenario`);
  }
  ctx.log(`${scenario.title}: starting ${scenario.contenders.length} servers`);
  const servers = new Map<
    HttpContenderId,
    { child: Child; url: string; headers?: Record<string, string> }
  >();
  try {
    for (const id of scenario.contenders) {
      const child = Child.start(`${scenario.platform} server ${id}`, 'servers/http-server.js', [
        id,
        scenario.platform,
        ctx.redisUrl,
      ]);
      servers.set(id, { child, url: '' });
    }
    for (const [id, server] of servers) {
      const port = await server.child.call<number>('port');
      server.url = `http://127.0.0.1:${port}`;
      const etag = await checkAnswers(id, server.url);
      if ((HTTP_CONTENDERS[id] as HttpContender).conditional === true)
        server.headers = { 'if-none-match': etag };
      await ctx.load.call<LoadResult>(
        'run',
        loadOf(id, server, profile.connections, profile.warmupSeconds),
      );
    }
    const series = new Map<
      HttpContenderId,
      { rps: number[]; cpu: number[]; ratio: number[]; extra: number[]; p99: number[] }
    >();
    for (const id of scenario.contenders)
      series.set(id, { rps: [], cpu: [], ratio: [], extra: [], p99: [] });
    for (let round = 0; round < profile.httpRounds; round++) {
      const measured = new Map<HttpContenderId, { rps: number; cpu: number }>();
      for (const id of rotate(scenario.contenders, round)) {
        const server = servers.get(id)!;
        const cpuBefore = await server.child.call<number>('cpu');
        const load = await ctx.load.call<LoadResult>(
          'run',
          loadOf(id, server, profile.connections, profile.httpSeconds),
        );
        const cpuAfter = await server.child.call<number>('cpu');
        if (load.failures > 0)
          throw new Error(`${scenario.title}: ${id} had ${load.failures} failed requests`);
        const cpu = (cpuAfter - cpuBefore) / load.requests;
        measured.set(id, { rps: load.rps, cpu });
        const s = series.get(id)!;
        s.rps.push(load.rps);
        s.cpu.push(cpu);
        s.p99.push(load.latencyP99);
      }
      for (const [id, m] of measured) {
        const raw = measured.get(baselineOf(id))!;
        series.get(id)!.ratio.push(m.rps / raw.rps);
        series.get(id)!.extra.push(m.cpu - raw.cpu);
      }
      ctx.log(
        `${scenario.title}: round ${round + 1}/${profile.httpRounds}: ${[...measured].map(([id, m]) => `${id} ${Math.round(m.rps)} req/s ${m.cpu.toFixed(1)} µs`).join(', ')}`,
      );
    }
    return {
      scenario,
      rounds: profile.httpRounds,
      contenders: scenario.contenders.map((id) => {
        const s = series.get(id)!;
        return {
          id,
          label: HTTP_CONTENDERS[id].label,
          rps: summarize(s.rps),
          cpuUs: summarize(s.cpu),
          ratio: summarize(s.ratio),
          extraCpuUs: summarize(s.extra),
          p99Ms: summarize(s.p99),
          rpsPerRound: s.rps,
        };
      }),
    };
  } finally {
    await Promise.all([...servers.values()].map((server) => server.child.stop()));
  }
}

/** The raw handler a contender is compared with, in the same round. */
function baselineOf(id: HttpContenderId): HttpContenderId {
  return (HTTP_CONTENDERS[id] as HttpContender).baseline ?? 'raw';
}

/** One load run of a contender. */
function loadOf(
  id: HttpContenderId,
  server: { url: string; headers?: Record<string, string> },
  connections: number,
  seconds: number,
): Record<string, unknown> {
  const conditional = (HTTP_CONTENDERS[id] as HttpContender).conditional === true;
  return {
    url: server.url + PATH,
    connections,
    seconds,
    ...(server.headers !== undefined && { headers: server.headers }),
    ...(conditional && { status: 304 }),
  };
}

/**
 * Checks that a server answers the route with its JSON constant and, for ours, with X-Cache: HIT
 * once warm (and 304 to If-None-Match for a conditional contender). Resolves to the last ETag.
 */
async function checkAnswers(id: HttpContenderId, url: string): Promise<string> {
  const contender = HTTP_CONTENDERS[id] as HttpContender;
  const expected = JSON.stringify(contender.body === '4k' ? BIG_ITEM : ITEM);
  let last: Response | undefined;
  for (let i = 0; i < 2; i++) {
    last = await fetch(url + PATH);
    const body = await last.text();
    if (last.status !== 200 || body !== expected)
      throw new Error(`${id} answered ${last.status} ${body.slice(0, 100)}`);
  }
  if (contender.xCache && last!.headers.get('x-cache') !== 'HIT') {
    throw new Error(
      `${id} did not serve the second request from the cache (X-Cache: ${last!.headers.get('x-cache')})`,
    );
  }
  const etag = last!.headers.get('etag') ?? '';
  if (contender.conditional === true) {
    const again = await fetch(url + PATH, { headers: { 'if-none-match': etag } });
    if (again.status !== 304 || (await again.text()) !== '')
      throw new Error(`${id} answered If-None-Match with ${again.status}, not 304`);
  }
  return etag;
}
