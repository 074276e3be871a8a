import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CoherenceResult } from '../apps/bench/src/scenarios/coherence.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const BENCH = path.join(ROOT, 'dist', 'apps', 'bench', 'main.js');

/**
 * Smoke test of the benchmark (not the figures): `--quick` runs every scenario and writes the
 * page and its charts. `npm run test:bench` runs it alone (jest.bench.config.js; `npm test` leaves
 * it out, it takes over a minute) after building the bench (build:bench).
 */
describe('npm run bench -- --quick', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  let exit: { code: number | null; output: string };

  beforeAll(async () => {
    if (!existsSync(BENCH))
      throw new Error(
        `${BENCH} is missing: run \`npm run build:bench\` first (npm run test:bench does)`,
      );
    dir = mkdtempSync(path.join(os.tmpdir(), 'ntc-bench-smoke-'));
    const bench = spawn(
      process.execPath,
      [BENCH, '--quick', '--out', path.join(dir, 'benchmarks.md')],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = bench;
    let output = '';
    bench.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    bench.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => bench.on('exit', (c) => resolve(c)));
    exit = { code, output };
  }, 300_000); // about 90 s on a quiet 2-core machine (15 s of it the coherence scenario); 150 s and more on a busy one
  afterAll(async () => {
    // Only if beforeAll timed out: SIGINT makes the bench stop every process it started.
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGINT');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits 0', () => {
    if (exit.code !== 0)
      throw new Error(`the bench exited ${exit.code}:\n${exit.output.slice(-3000)}`);
  });

  it('writes a table for every scenario and the charts it embeds', () => {
    const page = readFileSync(path.join(dir, 'benchmarks.md'), 'utf8');
    for (const heading of [
      '## The bars',
      '## Method',
      '## Environment',
      '## HTTP hit, Fastify',
      '## HTTP hit, Express',
      '## HTTP L2 hit',
      '## Library get (L1 hit)',
      '## L2 throughput',
      '## Stampede',
      '## Memory',
      '## Invalidation at scale',
      '## Coherence across instances',
      "### Delete on one instance → gone from another instance's L1",
      "### The bus's cost on writes",
      '### Fan-out: messages and CPU per instance',
    ]) {
      expect(page).toContain(heading);
    }
    const embedded = [...page.matchAll(/!\[[^\]]*\]\((benchmarks\/[\w.-]+\.svg)\)/g)].map(
      (m) => m[1]!,
    );
    expect(embedded.length).toBeGreaterThanOrEqual(8);
    for (const file of embedded) {
      const svg = readFileSync(path.join(dir, file), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
    }
    const svgs = readdirSync(path.join(dir, 'benchmarks')).filter((f) => f.endsWith('.svg'));
    expect(svgs.sort()).toEqual(embedded.map((f) => path.basename(f)).sort());
  });

  it('rebuilds the same page from the saved results with --report', async () => {
    const again = path.join(dir, 'again', 'benchmarks.md');
    const child = spawn(
      process.execPath,
      [BENCH, '--report', path.join(dir, 'benchmarks', 'results.json'), '--out', again],
      { cwd: ROOT, stdio: 'ignore' },
    );
    expect(await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))).toBe(
      0,
    );
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(path.join(dir, 'benchmarks.md'), 'utf8'));
  });

  it('prints its usage for --help, and refuses an unknown option or scenario with exit code 2', () => {
    const help = spawnSync(process.execPath, [BENCH, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--quick');
    // A run without --out writes to the git-ignored folder, never to the committed docs/.
    expect(help.stdout).toContain('Default .cache/bench/benchmarks.md (git-ignored)');
    for (const args of [['--bogus'], ['--only', 'fastify,nope']]) {
      const wrong = spawnSync(process.execPath, [BENCH, ...args], { encoding: 'utf8' });
      expect(wrong.status).toBe(2);
      expect(wrong.stderr).toMatch(/bogus|"nope"/);
      expect(wrong.stderr).toContain('usage: npm run bench');
    }
  });

  it('measured the contenders, with one origin call for our stampede', () => {
    const page = readFileSync(path.join(dir, 'benchmarks.md'), 'utf8');
    expect(page).toMatch(/\| nest-tiered-cache `@Cached` \| 1 \|/);
    expect(page).not.toContain('not run');
  });

  it('timed every delete to another instance, in both bus modes, and saw the bus carry the writes', () => {
    const { coherence } = JSON.parse(
      readFileSync(path.join(dir, 'benchmarks', 'results.json'), 'utf8'),
    ) as { coherence: CoherenceResult };
    expect(coherence.latency.map((l) => l.mode)).toEqual(['tracking', 'pubsub']);
    for (const l of coherence.latency) {
      expect(l.deletes).toBeGreaterThan(0);
      // Every delete reached the other instance's L1 (the watcher gives up after 2 s).
      expect(l.timeouts).toBe(0);
      expect(l.p99Ms.median).toBeGreaterThanOrEqual(l.p50Ms.median);
    }
    expect(
      coherence.writes.rows.map(
        (w) => `${w.floor === undefined ? w.bus : `floor of ${w.floor}`}${w.peer ? '+peer' : ''}`,
      ),
    ).toEqual([
      'off',
      'tracking',
      'floor of tracking',
      'pubsub',
      'floor of pubsub',
      'tracking+peer',
      'pubsub+peer',
    ]);
    for (const w of coherence.writes.rows) {
      expect(w.opsPerSec.median).toBeGreaterThan(0);
      // The median's confidence interval holds the median (the bus-off ratios are all 1).
      const [low, high] = w.ratioInterval!;
      expect(low).toBeLessThanOrEqual(w.ratio.median);
      expect(high).toBeGreaterThanOrEqual(w.ratio.median);
    }
    const fanout = (bus: string) => coherence.fanout.rows.find((r) => r.bus === bus)!;
    expect(fanout('off').receivedPerS.median).toBe(0);
    // Two instances writing at the same rate: each evicts about what the other wrote.
    for (const bus of ['tracking', 'pubsub']) {
      expect(fanout(bus).keysPerS.median).toBeGreaterThan(fanout(bus).writesPerS.median / 2);
    }
    expect(fanout('tracking').sentPerS.median).toBe(0); // Redis reports the writes itself
    expect(fanout('pubsub').sentPerS.median).toBeGreaterThan(0);
  });
});
