import { afterEach, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CacheService } from '../src/cache.service.js';
import type { TieredCache } from '../src/core/tiered-cache.js';
import { fileOf } from './filesystem-harness.js';
import { createTestCache, RecordingLogger } from './test-cache.js';

/** The filesystem tier under the whole engine: what a caller sees of its faults. */
describe('a filesystem tier in the cache', () => {
  let engine: TieredCache | undefined;
  let root: string | undefined;

  afterEach(async () => {
    await engine?.close();
    if (root !== undefined) fs.rmSync(root, { recursive: true, force: true });
    engine = root = undefined;
  });

  async function start(
    logger = new RecordingLogger(),
  ): Promise<{ cache: CacheService; dir: string }> {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ntc-fs-tier-'));
    const dir = path.join(root, 'cache');
    const created = await createTestCache(
      { namespace: 'app', ttl: 60, local: { backend: 'filesystem', dir } },
      logger,
    );
    engine = created.engine;
    return { cache: created.cache, dir };
  }

  it('keeps serving after one unreadable, unremovable file named like an entry', async () => {
    const logger = new RecordingLogger();
    const { cache, dir } = await start(logger);
    await cache.set('user:1', { name: 'one' });
    const bad = fileOf(dir, 'planted');
    fs.mkdirSync(bad);
    fs.writeFileSync(path.join(bad, 'inside'), 'x');

    expect(await cache.deletePattern('user:*')).toBe(1);
    expect(await cache.deleteByTag('anything')).toBe(0);
    await cache.set('user:2', { name: 'two' });
    // A failed invalidation would have made every read of this tier a miss until it is replayed.
    expect(await cache.get('user:2')).toEqual({ name: 'two' });
    expect(cache.stats().tiers.local).toMatchObject({ hits: 1, errors: 0 });
    expect(logger.matching('warn', path.basename(bad))).toHaveLength(1);
  });

  it('recovers when its directory is deleted while it runs', async () => {
    const { cache, dir } = await start();
    // A pattern delete waits for the start-up prune, which writes in the directory while it runs:
    // deleting the directory under it would race those writes (rmSync fails with ENOTEMPTY).
    expect(await cache.deletePattern('none:*')).toBe(0);
    await cache.set('a', 1);
    fs.rmSync(dir, { recursive: true });

    expect(await cache.get('a')).toBeUndefined();
    expect(await cache.deletePattern('*')).toBe(0);
    await cache.set('b', 2);
    expect(await cache.get('b')).toBe(2);
    expect(cache.stats().tiers.local).toMatchObject({ errors: 0 });
  });
});
