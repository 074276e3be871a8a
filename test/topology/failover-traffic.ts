import { type CacheWorker, now } from '../multi-instance/cache-worker.js';

/** One read a worker answered: when it began and ended (shared clock), and what it returned. */
export interface ReadRecord {
  readonly worker: string;
  readonly key: string;
  readonly begin: number;
  readonly end: number;
  readonly value: string | undefined;
}

/**
 * Keeps forked app instances busy until stopped: each one reads `readKeys` in turn, one request at
 * a time, and the first one also writes `writeKeys` in turn. The cache never throws at a caller,
 * so a request that rejects is recorded in `errors` (and fails the test).
 */
export class Traffic {
  readonly reads: ReadRecord[] = [];
  readonly errors: string[] = [];
  writes = 0;
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly workers: readonly CacheWorker[],
    private readonly readKeys: readonly string[],
    private readonly writeKeys: readonly string[],
  ) {}

  start(): void {
    this.running = true;
    this.loops = this.workers.map((worker, i) => this.readLoop(worker, i));
    if (this.writeKeys.length > 0) this.loops.push(this.writeLoop(this.workers[0]!));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async readLoop(worker: CacheWorker, offset: number): Promise<void> {
    for (let i = offset; this.running; i++) {
      const key = this.readKeys[i % this.readKeys.length]!;
      try {
        const { begin, end, result } = await worker.request({ op: 'get', key });
        this.reads.push({ worker: worker.name, key, begin, end, value: result.value });
      } catch (err) {
        this.errors.push(`${worker.name} get ${key}: ${(err as Error).message}`);
      }
    }
  }

  private async writeLoop(worker: CacheWorker): Promise<void> {
    for (let n = 0; this.running; n++) {
      const key = this.writeKeys[n % this.writeKeys.length]!;
      try {
        await worker.request({ op: 'set', key, value: `w${n}` });
        this.writes++;
      } catch (err) {
        this.errors.push(`${worker.name} set ${key}: ${(err as Error).message}`);
      }
    }
  }
}

/** The outcome of {@link probe}: when a write was first read back, and the longest outage seen. */
export interface ProbeReport {
  /** When the first successful round began (undefined: none within the time allowed). */
  recoveredAt: number | undefined;
  /** Rounds that did not read the value back. */
  failures: number;
  /** Longest stretch of failed rounds, in ms (from the first failed round's start to the next success's start). */
  longestOutageMs: number;
  /** Every round: when it began and whether the value was read back. */
  rounds: { start: number; ok: boolean; writeMs: number; readEnd: number }[];
}

/**
 * Rounds of "`writer` sets a fresh key, `reader` reads it back" on `keys` (each used once), every
 * `intervalMs`, until `until()` is true or `timeoutMs` passed (then `recoveredAt` is undefined
 * unless a round succeeded). The reader has never seen the key, so it reads it from Redis.
 * `stopAtFirstSuccess` ends the probe at the first round that reads the value back.
 */
export async function probe(
  writer: CacheWorker,
  reader: CacheWorker,
  keys: readonly string[],
  options: {
    intervalMs: number;
    timeoutMs: number;
    stopAtFirstSuccess: boolean;
    until?: () => boolean;
  },
): Promise<ProbeReport> {
  const started = now();
  const report: ProbeReport = {
    recoveredAt: undefined,
    failures: 0,
    longestOutageMs: 0,
    rounds: [],
  };
  let failingSince: number | undefined;
  for (let i = 0; ; i++) {
    if (i >= keys.length) throw new Error('probe ran out of keys');
    if (i > 0 && (options.until?.() === true || now() - started > options.timeoutMs)) break;
    const key = keys[i]!;
    const roundStart = now();
    const value = `p${i}`;
    const write = await writer.request({ op: 'set', key, value });
    const read = await reader.request({ op: 'get', key });
    report.rounds.push({
      start: roundStart,
      ok: read.result.value === value,
      writeMs: write.end - write.begin,
      readEnd: read.end,
    });
    if (read.result.value === value) {
      report.recoveredAt ??= roundStart;
      if (failingSince !== undefined)
        report.longestOutageMs = Math.max(report.longestOutageMs, roundStart - failingSince);
      failingSince = undefined;
      if (options.stopAtFirstSuccess) break;
    } else {
      report.failures++;
      failingSince ??= roundStart;
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
  if (failingSince !== undefined)
    report.longestOutageMs = Math.max(report.longestOutageMs, now() - failingSince);
  return report;
}

/**
 * Reads of `deleted` keys that returned a value although they began after `after`: a value
 * deleted during the failover served after it.
 */
export function staleReads(
  reads: readonly ReadRecord[],
  deleted: ReadonlySet<string>,
  after: number,
): ReadRecord[] {
  return reads.filter((r) => deleted.has(r.key) && r.begin > after && r.value !== undefined);
}
