import http from 'node:http';
import { Child } from '../infra/processes.js';
import { summarize, type Summary } from '../infra/stats.js';
import { STAMPEDE_ORIGIN_MS } from '../servers/bodies.js';
import type { BenchContext } from './context.js';

/** Concurrent cold requests per round. */
export const STAMPEDE_REQUESTS = 200;

const CONTENDERS = [
  { id: 'ours-memory', label: 'nest-tiered-cache `@Cached`' },
  { id: 'cm-memory', label: '@nestjs/cache-manager `CacheInterceptor`' },
] as const;

/** Origin calls per round of one contender. */
export interface StampedeContenderResult {
  readonly id: string;
  readonly label: string;
  readonly originCalls: Summary;
  readonly perRound: readonly number[];
}

/** The stampede scenario's results. */
export interface StampedeResult {
  readonly requests: number;
  readonly originMs: number;
  readonly rounds: number;
  readonly contenders: readonly StampedeContenderResult[];
}

/** Fires 200 concurrent requests for a cold key at each server and counts the origin's calls. */
export async function runStampedeScenario(ctx: BenchContext): Promise<StampedeResult> {
  const rounds = ctx.profile.stampedeRounds;
  const servers = CONTENDERS.map(({ id }) =>
    Child.start(`stampede server ${id}`, 'servers/http-server.js', [id, 'fastify', ctx.redisUrl]),
  );
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  try {
    const ports = await Promise.all(servers.map((server) => server.call<number>('port')));
    const calls = CONTENDERS.map(() => [] as number[]);
    for (let round = 0; round < rounds; round++) {
      for (let c = 0; c < CONTENDERS.length; c++) {
        const before = await servers[c]!.call<number>('originCalls');
        const path = `/slow/cold-${round}`;
        const statuses = await Promise.all(
          Array.from({ length: STAMPEDE_REQUESTS }, () => get(agent, ports[c]!, path)),
        );
        const failed = statuses.filter((status) => status !== 200).length;
        if (failed > 0)
          throw new Error(
            `stampede: ${CONTENDERS[c]!.id} answered ${failed} requests with an error`,
          );
        calls[c]!.push((await servers[c]!.call<number>('originCalls')) - before);
      }
      ctx.log(
        `stampede: round ${round + 1}/${rounds}: ${CONTENDERS.map(({ id }, c) => `${id} ${calls[c]!.at(-1)} origin calls`).join(', ')}`,
      );
    }
    return {
      requests: STAMPEDE_REQUESTS,
      originMs: STAMPEDE_ORIGIN_MS,
      rounds,
      contenders: CONTENDERS.map(({ id, label }, c) => ({
        id,
        label,
        originCalls: summarize(calls[c]!),
        perRound: calls[c]!,
      })),
    };
  } finally {
    agent.destroy();
    await Promise.all(servers.map((server) => server.stop()));
  }
}

function get(agent: http.Agent, port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}
