import { describe, expect, it } from '@jest/globals';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { missingPeer } from '../src/backends/redis.backend.js';

const LIB = path.resolve('libs/tiered-cache');
const FIXTURE = path.join(LIB, 'test/fixtures/without-ioredis.mjs');

/**
 * The error `require` gives for a package that is not installed (resolved from an empty place), as
 * plain Node throws it: taken in a child process, since Jest's own require may map the name (the
 * ioredis 5 run maps `ioredis` to `ioredis5`).
 */
function requireError(name: string): unknown {
  const script =
    `try { require('module').createRequire(${JSON.stringify(path.join(os.tmpdir(), 'nowhere', 'index.js'))})(${JSON.stringify(name)}); ` +
    `console.log('null') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }`;
  const thrown = JSON.parse(
    execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }),
  ) as {
    code: string;
    message: string;
  } | null;
  if (thrown === null) throw new Error(`${name} resolved from ${os.tmpdir()}`);
  return Object.assign(new Error(thrown.message), { code: thrown.code });
}

describe('a redis tier without ioredis installed', () => {
  it('fails bootstrap with "install ioredis for the redis backends" (a real process without the package)', async () => {
    if (!existsSync(path.join(LIB, 'dist/index.js')))
      throw new Error(
        'libs/tiered-cache/dist is missing: run `npm run build:lib` first (npm test does)',
      );
    const { stdout } = await promisify(execFile)(process.execPath, [FIXTURE], { timeout: 15_000 });
    const failure = JSON.parse(stdout.trim().split('\n').pop()!) as {
      code: string;
      message: string;
    };
    expect(failure).toEqual({
      code: 'E_INVALID_OPTION',
      message: expect.stringContaining(
        `"shared.backend": 'redis' needs the ioredis package, which is not installed: install ioredis for the redis backends (npm install ioredis)`,
      ),
    });
  });

  it('maps what require() throws too (the CommonJS build), keeping the original as the cause', () => {
    const original = requireError('ioredis');
    const mapped = missingPeer(original, 'ioredis', 'shared.backend', 'redis-atomic');
    expect(mapped?.message).toBe(
      `Invalid option "shared.backend": 'redis-atomic' needs the ioredis package, which is not installed: install ioredis for the redis backends (npm install ioredis)`,
    );
    expect(mapped?.cause).toBe(original);
  });

  it('leaves any other failure as it is: another missing package, or another error', () => {
    expect(
      missingPeer(requireError('some-other-package'), 'ioredis', 'shared.backend', 'redis'),
    ).toBe(undefined);
    expect(missingPeer(new Error("Cannot find package 'ioredis'"), 'ioredis', 'x', 'redis')).toBe(
      undefined,
    );
    expect(missingPeer('ioredis', 'ioredis', 'x', 'redis')).toBe(undefined);
  });
});
