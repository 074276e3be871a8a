/**
 * The load generator in its own process: runs autocannon on request and answers with the figures.
 */
import autocannon from 'autocannon';
import { serve } from '../infra/processes.js';

/** What one load run measured. */
export interface LoadResult {
  /** Completed requests. */
  requests: number;
  /** Requests per second over the run. */
  rps: number;
  latencyP50: number;
  latencyP99: number;
  /** Errors, timeouts and answers of another status than expected (all should be 0). */
  failures: number;
}

serve({
  run: async (message) => {
    const headers = message.headers as Record<string, string> | undefined;
    const result = await autocannon({
      url: message.url as string,
      connections: message.connections as number,
      duration: message.seconds as number,
      pipelining: 1,
      timeout: 10,
      ...(headers !== undefined && { headers }),
    });
    // A conditional run expects 304 (not a 2xx) on every request.
    const expected = (message.status as number | undefined) ?? 200;
    const unexpected =
      expected === 200
        ? result.non2xx
        : result.requests.total - (result.statusCodeStats[String(expected)]?.count ?? 0);
    const load: LoadResult = {
      requests: result.requests.total,
      rps: result.requests.total / result.duration,
      latencyP50: result.latency.p50,
      latencyP99: result.latency.p99,
      failures: result.errors + result.timeouts + unexpected,
    };
    return load;
  },
});
