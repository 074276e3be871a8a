import { describe, expect, it } from '@jest/globals';
import { FailedWrites } from './failed-writes.js';

/** A promise with its resolve/reject exposed. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** FailedWrites over a store whose deletes answer as the test says. */
function failedWrites(answers: boolean[]) {
  const removes: string[] = [];
  const missed: string[] = [];
  const writes = new FailedWrites({
    remove: (key) => {
      removes.push(key);
      return Promise.resolve(answers.shift() ?? true);
    },
    missed: (key) => missed.push(key),
  });
  return { writes, removes, missed };
}

describe('FailedWrites', () => {
  it('deletes the key of a failed write once, and it is a miss until that is done', async () => {
    const { writes, removes, missed } = failedWrites([true]);
    writes.forget('k', undefined);
    expect(writes.has('k')).toBe(true);
    expect(writes.has('other')).toBe(false);
    await writes.idle();
    expect(removes).toEqual(['k']);
    expect(missed).toEqual([]);
    expect(writes.has('k')).toBe(false);
  });

  it('records a missed invalidation when the delete cannot be made', async () => {
    const { writes, missed } = failedWrites([false]);
    writes.forget('k', undefined);
    await writes.idle();
    expect(missed).toEqual(['k']);
  });

  it('deletes a write that missed its deadline again once it has landed, or failed', async () => {
    const { writes, removes, missed } = failedWrites([true, false, true, true]);
    const landed = deferred<void>();
    const failed = deferred<void>();
    writes.forget('a', landed.promise);
    writes.forget('b', failed.promise);
    await new Promise((resolve) => setImmediate(resolve));
    expect(removes).toEqual(['a', 'b']); // at once, right behind the writes
    expect(missed).toEqual(['b']);
    expect(writes.has('a') && writes.has('b')).toBe(true); // still on their way
    landed.resolve();
    failed.reject(new Error('connection closed'));
    await writes.idle();
    expect(removes).toEqual(['a', 'b', 'a', 'b']);
    expect(writes.has('a') || writes.has('b')).toBe(false);
  });

  it('counts follow-ups of one key apart', async () => {
    const { writes } = failedWrites([]);
    const first = deferred<void>();
    writes.forget('k', first.promise);
    writes.forget('k', undefined);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes.has('k')).toBe(true); // the second is over, the first still waits
    first.resolve();
    await writes.idle();
    expect(writes.has('k')).toBe(false);
  });

  it('stops waiting for late writes on close, without deleting again', async () => {
    const { writes, removes } = failedWrites([]);
    writes.forget('k', new Promise<void>(() => undefined)); // never settles
    await new Promise((resolve) => setImmediate(resolve));
    writes.close();
    await writes.idle();
    expect(removes).toEqual(['k']);
    expect(writes.has('k')).toBe(false);
  });
});
