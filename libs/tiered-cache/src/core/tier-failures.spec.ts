import { describe, expect, it } from '@jest/globals';
import { CacheError, CacheErrorCode, toCacheError } from '../cache.errors.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import { TierFailures } from './tier-failures.js';

/** A tier's failure reporting on a clock the test moves, with its breaker's and log's records. */
function reporting() {
  const state = { now: 0 };
  const warnings: string[] = [];
  const tripped: string[] = [];
  const logger = { log() {}, error() {}, warn: (m: unknown) => void warnings.push(String(m)) };
  const breaker = { failure: (err: CacheError) => void tripped.push(err.code) };
  const failures = new TierFailures('shared tier (redis)', logger, () => state.now);
  const report = (cause: unknown, op = 'get', key: string | undefined = 'ns:user:42') =>
    failures.report(
      toCacheError(cause, CacheErrorCode.E_BACKEND_ERROR, `shared tier (redis) ${op}`),
      cause,
      op,
      key,
      breaker as unknown as CircuitBreaker,
    );
  return { state, warnings, tripped, report };
}

describe('TierFailures', () => {
  it('hands an outage to the breaker (which logs it once when it opens), and logs nothing itself', () => {
    const { warnings, tripped, report } = reporting();
    report(new CacheError(CacheErrorCode.E_BACKEND_TIMEOUT, 'get did not finish within 250 ms'));
    report(
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }),
    );
    expect(tripped).toEqual(['E_BACKEND_TIMEOUT', 'E_BACKEND_ERROR']);
    expect(warnings).toEqual([]);
  });

  it('logs a full store, a cluster in transition and a bad entry without tripping the breaker', () => {
    const { warnings, tripped, report } = reporting();
    const oom = Object.assign(new Error('OOM command not allowed'), { name: 'ReplyError' });
    report(oom, 'set');
    report(new Error('CLUSTERDOWN The cluster is down'));
    report(new CacheError(CacheErrorCode.E_CORRUPT_ENTRY, 'unreadable entry'));
    expect(tripped).toEqual([]);
    expect(warnings).toHaveLength(2); // the first two share E_BACKEND_ERROR: one report a minute
    expect(warnings[1]).toContain('[E_CORRUPT_ENTRY]');
  });

  it('logs each code at most once a minute, with how many it left out, by key hash only', () => {
    const { state, warnings, report } = reporting();
    const corrupt = () => new CacheError(CacheErrorCode.E_CORRUPT_ENTRY, 'unreadable entry');
    report(corrupt());
    state.now = 59_999;
    report(corrupt());
    report(corrupt());
    state.now = 60_000;
    report(corrupt());
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(
      /^shared tier \(redis\) get key#[\w-]{12} failed \[E_CORRUPT_ENTRY\]/,
    );
    expect(warnings[1]).toContain('(2 more since the last report)');
    expect(warnings.join('\n')).not.toContain('user:42');
  });
});
