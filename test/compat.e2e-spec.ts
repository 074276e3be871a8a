import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RedisServerHarness } from '../libs/tiered-cache/test/redis-server.harness.js';

/**
 * The package as users get it: `npm pack` of libs/tiered-cache, installed with a plain
 * `npm install` (no --legacy-peer-deps) in a temporary copy of each app of test/compat/, whose own
 * e2e suite then runs with its own test runner against a redis-server started here. Run by
 * `npm run test:compat` (jest.compat.config.js); `npm test` leaves it out.
 *
 * Each suite runs on every Node of COMPAT_NODES (comma-separated: `current`, the Node running
 * Jest, or a version of the npm `node` package, fetched with npx), by default `current,24`, e.g.
 * `COMPAT_NODES=20.19.0,22.12.0,24,26 npm run test:compat` to check what `engines` names.
 */

const ROOT = path.resolve(import.meta.dirname, '..');
const APPS = ['nest11-cjs', 'nest11-esm', 'nest12-esm-express', 'nest12-esm-fastify'];
const NODES = (process.env.COMPAT_NODES ?? 'current,24')
  .split(',')
  .map((node) => node.trim())
  .filter((node) => node !== '');
const INSTALL_TIMEOUT_MS = 300_000; // about 20 s per app with a warm npm cache, minutes with a cold one
const SUITE_TIMEOUT_MS = 180_000; // about 15 s per app and Node

interface Run {
  code: number | null;
  output: string;
}

/** Runs a command to completion (never rejects), with stdout and stderr together. */
function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', (err) => (output += `\n${err.message}`));
    child.on('close', (code, signal) =>
      resolve({ code, output: signal ? `${output}\nkilled by ${signal}` : output }),
    );
  });
}

/** Fails with the command's output when it did not exit 0. */
function expectSuccess(what: string, result: Run): void {
  if (result.code !== 0)
    throw new Error(`${what} exited ${result.code}:\n${result.output.slice(-6000)}`);
}

/**
 * The environment for the apps' npm, with `node` of the given directory first on PATH, and
 * without what `npm run` put there for this repository (npm_* settings such as a workspace, its
 * node_modules/.bin on PATH).
 */
function appEnv(nodeDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env))
    if (!name.toLowerCase().startsWith('npm_') && name !== 'INIT_CWD') env[name] = value;
  const paths = (process.env.PATH ?? '').split(path.delimiter).filter((p) => !p.startsWith(ROOT));
  return { ...env, ...extra, PATH: [nodeDir, ...paths].join(path.delimiter) };
}

let work: string;
let tarball: string;
const installs = new Map<string, Promise<Run>>();

/** Copies an app of test/compat/ next to the tarball and runs a plain `npm install` in it. */
function install(app: string): Promise<Run> {
  const dir = path.join(work, app);
  cpSync(path.join(ROOT, 'test', 'compat', app), dir, {
    recursive: true,
    filter: (source) => !/[\\/](node_modules|dist)$/.test(source),
  });
  return run('npm', ['install', '--no-audit', '--no-fund'], {
    cwd: dir,
    env: appEnv(path.dirname(process.execPath)),
    timeoutMs: INSTALL_TIMEOUT_MS,
  });
}

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'ntc-compat-'));
  // Runs the package's prepack script: both builds.
  const pack = await run(
    'npm',
    ['pack', '--workspace', 'libs/tiered-cache', '--pack-destination', work, '--json'],
    { cwd: ROOT, env: appEnv(path.dirname(process.execPath)), timeoutMs: 180_000 },
  );
  expectSuccess('npm pack', pack);
  const [{ filename }] = JSON.parse(pack.output.slice(pack.output.indexOf('['))) as [
    { filename: string },
  ];
  // The apps depend on "file:../nest-tiered-cache.tgz".
  tarball = path.join(work, 'nest-tiered-cache.tgz');
  renameSync(path.join(work, filename), tarball);
  // The installs (about 20 s each with a warm npm cache) and the Node downloads run side by side.
  for (const app of APPS) installs.set(app, install(app));
  for (const node of NODES) if (node !== 'current') void fetchNode(node).catch(() => undefined);
}, 240_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  let dir: string;
  let files: string[];

  beforeAll(async () => {
    const unpacked = path.join(work, 'unpacked');
    mkdirSync(unpacked);
    expectSuccess(
      'tar',
      await run('tar', ['-xzf', tarball, '-C', unpacked], {
        cwd: work,
        env: process.env,
        timeoutMs: 30_000,
      }),
    );
    dir = path.join(unpacked, 'package');
    files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) =>
      f.split(path.sep).join('/'),
    );
  });

  it('holds the ESM and CommonJS builds with their types, README and LICENSE, and no tests', () => {
    for (const file of [
      'LICENSE',
      'README.md',
      'package.json',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/testing/index.js',
      'dist/cjs/package.json',
      'dist/cjs/index.js',
      'dist/cjs/index.d.ts',
      'dist/cjs/testing/index.js',
    ])
      expect(files).toContain(file);
    expect(JSON.parse(readFileSync(path.join(dir, 'dist/cjs/package.json'), 'utf8'))).toEqual({
      type: 'commonjs',
    });
    expect(files.filter((f) => /\.spec\.|tsbuildinfo|(^|\/)test\//.test(f))).toEqual([]);
  });

  it('has a README whose quick start is the one test/compat/nest12-esm-express runs', () => {
    const example = 'test/compat/nest12-esm-express/src/quick-start.ts';
    const readme = readFileSync(path.join(dir, 'README.md'), 'utf8');
    const at = readme.indexOf(`<!-- example: ${example} -->`);
    expect(at).toBeGreaterThan(-1);
    const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(at))?.[1];
    expect(block).toBe(readFileSync(path.join(ROOT, example), 'utf8'));
    // No pointer to a repository the package does not name.
    expect(readme).not.toMatch(/the repository/i);
  });

  it('has the LICENSE of the repository root', () => {
    expect(readFileSync(path.join(dir, 'LICENSE'), 'utf8')).toBe(
      readFileSync(path.join(ROOT, 'LICENSE'), 'utf8'),
    );
  });

  it('ships every source its source maps name', () => {
    const maps = files.filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(100);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(path.join(dir, map), 'utf8')) as {
        sources: string[];
      };
      for (const source of sources) {
        const target = path.posix.join(path.posix.dirname(map), source);
        if (!files.includes(target)) missing.push(`${map} -> ${source}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

describe.each(APPS)('test/compat/%s', (app) => {
  let dir: string;
  let installed: Run;

  beforeAll(async () => {
    dir = path.join(work, app);
    installed = await installs.get(app)!;
  }, INSTALL_TIMEOUT_MS + 10_000);

  it('installs the tarball with a plain npm install, without an engine warning about it', () => {
    expectSuccess('npm install', installed);
    expect(installed.output).not.toMatch(/EBADENGINE[^\n]*\n[^\n]*nest-tiered-cache/);
  });

  it.each(NODES)(
    'passes its e2e suite on Node %s',
    async (node) => {
      const nodeBin = node === 'current' ? process.execPath : await fetchNode(node);
      const redis = await RedisServerHarness.start();
      try {
        const env = appEnv(path.dirname(nodeBin), { REDIS_URL: redis.url });
        const version = await run('node', ['--version'], { cwd: dir, env, timeoutMs: 10_000 });
        expectSuccess('node --version', version);
        if (node !== 'current') expect(version.output.trim()).toMatch(new RegExp(`^v${node}`));
        expectSuccess(
          `npm run compat on Node ${version.output.trim()}`,
          await run('npm', ['run', 'compat'], { cwd: dir, env, timeoutMs: SUITE_TIMEOUT_MS }),
        );
      } finally {
        await redis.stop();
      }
    },
    SUITE_TIMEOUT_MS + 120_000,
  );
});

const nodes = new Map<string, Promise<string>>();

/** The path of a Node binary of the npm `node` package at `version` (npx caches it). */
function fetchNode(version: string): Promise<string> {
  let bin = nodes.get(version);
  if (bin === undefined) {
    bin = run('npx', ['-y', '-p', `node@${version}`, 'node', '-p', 'process.execPath'], {
      cwd: work,
      env: appEnv(path.dirname(process.execPath)),
      timeoutMs: 120_000,
    }).then((result) => {
      expectSuccess(`npx -p node@${version}`, result);
      const bin = result.output.split('\n').findLast((line) => path.isAbsolute(line.trim()));
      if (bin === undefined)
        throw new Error(`npx -p node@${version} printed no path:\n${result.output}`);
      return bin.trim();
    });
    nodes.set(version, bin);
  }
  return bin;
}
