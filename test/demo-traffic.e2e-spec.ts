import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TRAFFIC = fileURLToPath(new URL('../dist/apps/demo/traffic.js', import.meta.url));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

let child: ChildProcess | undefined;

/** Runs the built traffic script (`npm test` builds first) and collects its output. */
function runTraffic(args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    child = spawn(process.execPath, [TRAFFIC, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child?.kill('SIGINT'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      child = undefined;
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The cells of the table row starting with `label`, split on runs of 2+ spaces. */
function row(stdout: string, label: string): Record<string, string> | undefined {
  const lines = stdout.split('\n');
  const header = lines.find((line) => line.includes('requests') && line.includes('hit rate'));
  const line = lines.find((l) => l.startsWith(`${label} `));
  if (header === undefined || line === undefined) return undefined;
  const titles = header.trim().split(/\s{2,}/);
  const cells = line
    .trim()
    .split(/\s{2,}/)
    .slice(1);
  return Object.fromEntries(titles.map((title, i) => [title, cells[i]!]));
}

describe('npm run demo:traffic', () => {
  afterAll(() => {
    // Only if the test timed out: SIGINT makes the script stop its demo instances.
    child?.kill('SIGINT');
  });

  it('drives a cached and an uncached instance and prints the comparison', async () => {
    expect(existsSync(TRAFFIC)).toBe(true); // `npm test` runs `npm run build:demo` first
    const run = await runTraffic(['--requests', '300', '--concurrency', '8'], 150_000);
    if (run.code !== 0) console.error(run.stdout, run.stderr);
    expect(run.code).toBe(0);

    const on = row(run.stdout, 'cache on');
    const off = row(run.stdout, 'cache off');
    expect(on).toBeDefined();
    expect(off).toBeDefined();
    for (const r of [on!, off!]) {
      expect(r.requests).toBe('300');
      expect(r.errors).toBe('0');
    }
    const hitRate = Number.parseFloat(on!['hit rate']!) / 100;
    expect(hitRate).toBeGreaterThan(0.5);
    expect(Number(on!['db queries'])).toBeLessThan(Number(off!['db queries']));
    expect(Number(off!['queries/req'])).toBeGreaterThan(0.9);
    expect(off!['hit rate']).toBe('-'); // the cache is off: no hit rate to show
    expect(run.stdout).toMatch(/database load reduction: \d+(\.\d)?% .*p50 speed-up: [\d.]+x/);
    // Progress went to stderr, not into the table.
    expect(run.stderr).toContain('100% (cache on 300/300, cache off 300/300)');
    expect(run.stdout).not.toContain('(300/300)');
  }, 180_000);
});
