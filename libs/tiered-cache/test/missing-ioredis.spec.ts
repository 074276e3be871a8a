import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { missingPeer } from '../src/backends/redis.backend.js';

const LIB = path.resolve('libs/tiered-cache');
const FIXTURE = path.join(LIB, 'test/fixtures/without-ioredis.mjs');

/** The error `require` gives for a package that is not installed (resolved from an empty place). */
function requireError(name: string): unknown {
  try {
    createRequire(path.join(os.tmpdir(), 'nowhere', 'index.js'))(name);
  } catch (err) {
    return err;
  }
  throw new Error(`${name} resolved from ${os.tmpdir()}`);
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
    expect(missingPeer(requireError('ioredis-mock-x'), 'ioredis', 'shared.backend', 'redis')).toBe(
      undefined,
    );
    expect(missingPeer(new Error("Cannot find package 'ioredis'"), 'ioredis', 'x', 'redis')).toBe(
      undefined,
    );
    expect(missingPeer('ioredis', 'ioredis', 'x', 'redis')).toBe(undefined);
  });
});
