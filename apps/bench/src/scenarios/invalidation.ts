import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CacheModule, CacheService } from 'nest-tiered-cache';
import { BenchRedis } from '../infra/redis-server.js';
import { summarize, type Summary } from '../infra/stats.js';
import type { BenchContext } from './context.js';

/** The pattern given to `deletePattern` (the cache's namespace is prepended). */
export const INVALIDATION_PATTERN = 'victim:*';

/** The invalidation scenario's results. */
export interface InvalidationResult {
  readonly keys: number;
  readonly matches: number;
  readonly rounds: number;
  /** Wall time of `deletePattern`, in ms. */
  readonly durationMs: Summary;
  /** Longest single command Redis ran during it (SLOWLOG with a 0 µs threshold), in ms. */
  readonly maxCommandMs: Summary;
  /** The command that took longest in the worst round (e.g. `SCAN`, `UNLINK`). */
  readonly slowestCommand: string;
  /** Commands the deletion sent. */
  readonly commands: Summary;
  /** Highest `command` event of Redis's latency monitor (threshold 1 ms), in ms; 0 when none. */
  readonly latencyMonitorMaxMs: Summary;
  /** Keys the call reported removed, per round. */
  readonly removed: readonly number[];
}

type SlowlogEntry = [number, number, number, string[], ...unknown[]];

/**
 * Fills a private Redis with `keys` keys in the cache's key layout (`<namespace>:<key>`), `matches`
 * of which match the pattern, then times `CacheService.deletePattern` while Redis logs every command.
 */
export async function runInvalidationScenario(ctx: BenchContext): Promise<InvalidationResult> {
  const {
    invalidationKeys: keys,
    invalidationMatches: matches,
    invalidationRounds: rounds,
  } = ctx.profile;
  const redis = await BenchRedis.start(['--enable-debug-command', 'yes']);
  const admin = redis.client();
  @Module({
    imports: [
      CacheModule.forRoot({
        namespace: 'bench',
        ttl: '1h',
        shared: { backend: 'redis', url: redis.url },
      }),
    ],
  })
  class InvalidationBenchModule {}
  const app = await NestFactory.createApplicationContext(InvalidationBenchModule, {
    logger: ['error', 'warn'],
  });
  const cache = app.get(CacheService);
  const durations: number[] = [];
  const maxCommand: number[] = [];
  const commands: number[] = [];
  const monitor: number[] = [];
  const removed: number[] = [];
  let slowest = { ms: -1, command: '' };
  try {
    for (let round = 0; round < rounds; round++) {
      await admin.flushall();
      // DEBUG POPULATE <n> <prefix> creates <prefix>:0 .. <prefix>:<n-1> inside Redis, in the cache's layout.
      await admin.call('DEBUG', 'POPULATE', String(keys - matches), 'bench:other');
      await admin.call('DEBUG', 'POPULATE', String(matches), 'bench:victim');
      const size = await admin.dbsize();
      if (size !== keys)
        throw new Error(`invalidation: Redis holds ${size} keys, expected ${keys}`);
      await admin.config('SET', 'slowlog-log-slower-than', '0');
      await admin.config('SET', 'slowlog-max-len', '1000000');
      await admin.config('SET', 'latency-monitor-threshold', '1');
      await admin.call('LATENCY', 'RESET');
      await admin.call('SLOWLOG', 'RESET');
      const started = performance.now();
      const count = await cache.deletePattern(INVALIDATION_PATTERN);
      durations.push(performance.now() - started);
      await admin.config('SET', 'slowlog-log-slower-than', '-1');
      const log = (await admin.call('SLOWLOG', 'GET', '-1')) as SlowlogEntry[];
      const own = log.filter((entry) =>
        ['scan', 'unlink'].includes(String(entry[3][0]).toLowerCase()),
      );
      let worst = 0;
      for (const entry of own) {
        const ms = entry[2] / 1000;
        if (ms > worst) worst = ms;
        if (ms > slowest.ms)
          slowest = {
            ms,
            command:
              entry[3].slice(0, 2).join(' ') +
              (entry[3].length > 2 ? ` … (${entry[3].length - 1} args)` : ''),
          };
      }
      maxCommand.push(worst);
      commands.push(own.length);
      const latest = (await admin.call('LATENCY', 'LATEST')) as Array<
        [string, number, number, number]
      >;
      monitor.push(
        Math.max(
          0,
          ...latest
            .filter(([event]) => event === 'command' || event === 'fast-command')
            .map(([, , , max]) => max),
        ),
      );
      removed.push(count);
      const left = await admin.dbsize();
      if (count !== matches || left !== keys - matches) {
        throw new Error(
          `invalidation: deletePattern reported ${count} removed and left ${left} keys; expected ${matches} and ${keys - matches}`,
        );
      }
      ctx.log(
        `invalidation: round ${round + 1}/${rounds}: ${count} of ${keys} keys in ${durations.at(-1)!.toFixed(0)} ms, ${own.length} commands, slowest ${worst.toFixed(2)} ms`,
      );
    }
  } finally {
    await app.close();
    await admin.quit().catch(() => undefined);
    await redis.stop();
  }
  return {
    keys,
    matches,
    rounds,
    durationMs: summarize(durations),
    maxCommandMs: summarize(maxCommand),
    slowestCommand: slowest.command,
    commands: summarize(commands),
    latencyMonitorMaxMs: summarize(monitor),
    removed,
  };
}
