import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CacheModuleOptions } from 'nest-tiered-cache';
import { RedisClusterHarness } from '../../libs/tiered-cache/test/redis-cluster.harness.js';
import { type CacheWorker, closeWorkers, startWorkers } from '../multi-instance/cache-worker.js';
import { checkReads, describeViolation, lateRemoteReads } from '../multi-instance/read-checker.js';
import { runSoak, soakSeed } from '../multi-instance/soak.js';

/** Operations of the run, all workers together. */
const MIN_OPS = 12_000;
const WORKERS = 4;
/** As in soak.soak-spec.ts: another process's L1 may lag its change by its event-loop lag. */
const REMOTE_GRACE_MS = 250;

/**
 * The soak of test/multi-instance/soak.soak-spec.ts (no fault) on a real Redis Cluster of 3
 * masters and 3 replicas: four forked Nest apps (memory L1 + Redis Cluster L2, bus on, over
 * pub/sub on the bus's home master) do random reads, writes, deletes, pattern, tag and clear
 * invalidations on five keys, which hash to different masters, and every read must have
 * returned the latest written value at some moment during it.
 */
describe('soak on a Redis Cluster', () => {
  let cluster: RedisClusterHarness;
  let workers: CacheWorker[] = [];

  beforeAll(async () => {
    cluster = await RedisClusterHarness.start();
    const cache: CacheModuleOptions = {
      namespace: 'soak',
      ttl: 300,
      local: { backend: 'memory', ttl: '1m' },
      shared: { backend: 'redis', cluster: { nodes: cluster.startupNodes } },
    };
    workers = await startWorkers(
      Array.from({ length: WORKERS }, (_, i) => ({ name: `w${i + 1}`, cache, logs: true })),
    );
  });
  afterAll(async () => {
    try {
      await closeWorkers(workers);
    } finally {
      await cluster?.stop();
    }
  });

  it(`${WORKERS} processes, memory L1 + Redis Cluster L2: every read returns a value that was the latest during it`, async () => {
    const seed = soakSeed();
    const run = await runSoak({ seed, workers, minOps: MIN_OPS });
    const stats = await Promise.all(workers.map((w) => w.stats()));
    const tierErrors = stats.reduce((sum, s) => sum + s.errors, 0);
    const missesAllowed = tierErrors > 0; // a missed deadline makes the cache forget a key
    const events = run.history.events;
    const report = checkReads(events, { missesAllowed, remoteGraceMs: REMOTE_GRACE_MS });
    const late = lateRemoteReads(events, report, missesAllowed);
    console.log(
      `cluster soak: ${report.violations.length} violations in ${report.reads} reads ` +
        `(${report.hits} hits), ${run.ops} ops in ${(run.durationMs / 1000).toFixed(1)} s, ` +
        `${tierErrors} tier errors, seed ${seed}; ${late.count} read(s) of an L1 copy another ` +
        `process had already replaced, the longest ${late.longestMs.toFixed(1)} ms after`,
    );
    expect(report.hits).toBeGreaterThan(1_000);
    expect(stats.every((s) => (s.tiers.local?.hits ?? 0) > 0)).toBe(true);
    expect(run.errors).toEqual([]);
    expect(report.violations.map((v) => describeViolation(v, run.startedAt))).toEqual([]);
  });
});
