import { expect } from '@jest/globals';
import type { CacheWorker } from './cache-worker.js';

/** Rounds per change, each on its own keys. */
export const ROUNDS = 10;

/** A change made on instance A, and what instance B must read right after it resolved. */
export type Change = {
  /** What A does; `key` was set to `old` with tag `tag` just before. */
  run: (a: CacheWorker, round: { key: string; tag: string; prefix: string }) => Promise<unknown>;
  /** What B must read afterwards (undefined: a miss). */
  expected: string | undefined;
};

/** Every kind of change: key, pattern, tag and clear invalidations, and a write. */
export const CHANGES: Array<[string, Change]> = [
  ['delete', { run: (a, { key }) => a.request({ op: 'delete', key }), expected: undefined }],
  [
    'deletePattern',
    {
      run: (a, { prefix }) => a.request({ op: 'deletePattern', pattern: `${prefix}:*` }),
      expected: undefined,
    },
  ],
  [
    'deleteByTag',
    { run: (a, { tag }) => a.request({ op: 'deleteByTag', tags: [tag] }), expected: undefined },
  ],
  ['clear', { run: (a) => a.request({ op: 'clear' }), expected: undefined }],
  [
    'set',
    { run: (a, { key }) => a.request({ op: 'set', key, value: 'new', ttl: 60 }), expected: 'new' },
  ],
];

/**
 * {@link ROUNDS} rounds of: A sets a key to `old`, B reads it (so a memory L1 holds it), A makes
 * `change`, then B reads the key once, at once (no polling, no waiting for the bus). Resolves to
 * what B read in each round. A's own read after its change is checked too (one process is
 * coherent).
 */
export async function readsAfterChanges(
  a: CacheWorker,
  b: CacheWorker,
  name: string,
  change: Change,
): Promise<Array<string | undefined>> {
  const seen: Array<string | undefined> = [];
  for (let n = 0; n < ROUNDS; n++) {
    const round = { prefix: `${name}-${n}`, key: `${name}-${n}:item`, tag: `${name}-${n}` };
    await a.request({ op: 'set', key: round.key, value: 'old', tags: [round.tag], ttl: 60 });
    expect((await b.request({ op: 'get', key: round.key })).result).toEqual({
      found: true,
      value: 'old',
    });
    await change.run(a, round);
    const afterOnB = (await b.request({ op: 'get', key: round.key })).result;
    const afterOnA = (await a.request({ op: 'get', key: round.key })).result;
    expect(afterOnA.value).toBe(change.expected);
    seen.push(afterOnB.value);
  }
  return seen;
}
