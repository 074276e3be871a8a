import { describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { ReplyError } from 'ioredis';
import { CacheErrorCode, isOutOfSpace, toCacheError } from './cache.errors.js';

/** The error a write to a full device gives (Linux's /dev/full always answers ENOSPC). */
function fullDiskError(): unknown {
  try {
    writeFileSync('/dev/full', 'x');
  } catch (err) {
    return err;
  }
  throw new Error('/dev/full accepted a write');
}

describe('isOutOfSpace', () => {
  it('knows a full disk and a Redis at maxmemory, also wrapped', () => {
    const disk = fullDiskError();
    expect((disk as NodeJS.ErrnoException).code).toBe('ENOSPC');
    expect(isOutOfSpace(disk)).toBe(true);
    expect(isOutOfSpace(toCacheError(disk, CacheErrorCode.E_BACKEND_ERROR, 'write'))).toBe(true);
    const oom = new ReplyError("OOM command not allowed when used memory > 'maxmemory'.");
    expect(isOutOfSpace(oom)).toBe(true);
    expect(isOutOfSpace(toCacheError(oom, CacheErrorCode.E_BACKEND_ERROR, 'set'))).toBe(true);
  });

  it('is false for outages and other failures', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(isOutOfSpace(refused)).toBe(false);
    expect(isOutOfSpace(new ReplyError('WRONGTYPE Operation against a key'))).toBe(false);
    expect(isOutOfSpace(new Error('OOM in a message of another kind'))).toBe(false);
    expect(isOutOfSpace(undefined)).toBe(false);
    expect(isOutOfSpace('ENOSPC')).toBe(false);
  });
});
