import { describe, expect, it, jest } from '@jest/globals';
import { Changes } from './changes.js';
import { SingleFlight } from './single-flight.js';
import { deferred } from '../../test/test-cache.js';

describe('SingleFlight', () => {
  it('shares one computation and one promise between concurrent callers of a key', async () => {
    const flight = new SingleFlight(new Changes());
    const d = deferred<string>();
    const run = jest.fn(() => d.promise);

    const first = flight.run('k', run);
    const second = flight.run('k', run);
    const third = flight.run('k', () => Promise.resolve('never used'));
    expect(second).toBe(first);
    expect(third).toBe(first);
    expect(run).toHaveBeenCalledTimes(1);
    expect(flight.size).toBe(1);

    d.resolve('value');
    await expect(Promise.all([first, second, third])).resolves.toEqual(['value', 'value', 'value']);
  });

  it('releases the key once the promise settles, so the next call computes again', async () => {
    const flight = new SingleFlight(new Changes());
    let calls = 0;
    const run = (): Promise<number> => Promise.resolve(++calls);

    await expect(flight.run('k', run)).resolves.toBe(1);
    expect(flight.size).toBe(0);
    await expect(flight.run('k', run)).resolves.toBe(2);
    expect(flight.size).toBe(0);
  });

  it('releases the key after a rejection too, and every joined caller sees the error', async () => {
    const flight = new SingleFlight(new Changes());
    const d = deferred<string>();
    const run = jest.fn(() => d.promise);
    const first = flight.run('k', run);
    const second = flight.run('k', run);
    expect(second).toBe(first);

    const boom = new Error('origin down');
    d.reject(boom);
    await expect(first).rejects.toBe(boom);
    await expect(second).rejects.toBe(boom);
    expect(run).toHaveBeenCalledTimes(1);
    expect(flight.size).toBe(0);

    await expect(flight.run('k', () => Promise.resolve('recovered'))).resolves.toBe('recovered');
    expect(flight.size).toBe(0);
  });

  it('keeps the key until the promise settles, not merely until it is awaited', async () => {
    const flight = new SingleFlight(new Changes());
    const d = deferred<number>();
    const first = flight.run('k', () => d.promise);
    await Promise.resolve();
    await Promise.resolve();
    expect(flight.size).toBe(1);
    expect(flight.run('k', () => Promise.resolve(99))).toBe(first);
    d.resolve(1);
    await first;
    expect(flight.size).toBe(0);
  });

  it('runs different keys independently', async () => {
    const flight = new SingleFlight(new Changes());
    const a = deferred<string>();
    const b = deferred<string>();
    const runA = jest.fn(() => a.promise);
    const runB = jest.fn(() => b.promise);

    const pa = flight.run('a', runA);
    const pb = flight.run('b', runB);
    expect(pb).not.toBe(pa);
    expect(runA).toHaveBeenCalledTimes(1);
    expect(runB).toHaveBeenCalledTimes(1);
    expect(flight.size).toBe(2);

    // b settles first (and fails); a is unaffected and still shared.
    b.reject(new Error('b failed'));
    await expect(pb).rejects.toThrow('b failed');
    expect(flight.size).toBe(1);
    expect(flight.run('a', runA)).toBe(pa);
    expect(runA).toHaveBeenCalledTimes(1);

    a.resolve('A');
    await expect(pa).resolves.toBe('A');
    expect(flight.size).toBe(0);
  });

  it('treats keys as exact strings', async () => {
    const flight = new SingleFlight(new Changes());
    const d = deferred<void>();
    const p1 = flight.run('user:1', () => d.promise);
    const p2 = flight.run('user:1 ', () => d.promise);
    const p3 = flight.run('USER:1', () => d.promise);
    expect(new Set([p1, p2, p3]).size).toBe(3);
    expect(flight.size).toBe(3);
    d.resolve();
    await Promise.all([p1, p2, p3]);
    expect(flight.size).toBe(0);
  });

  it('a computation started after settling is not released by the earlier one', async () => {
    const flight = new SingleFlight(new Changes());
    const first = deferred<string>();
    const second = deferred<string>();
    const p1 = flight.run('k', () => first.promise);
    first.resolve('one');
    await p1;
    const p2 = flight.run('k', () => second.promise);
    expect(p2).not.toBe(p1);
    await Promise.resolve();
    expect(flight.size).toBe(1);
    expect(flight.run('k', () => Promise.resolve('x'))).toBe(p2);
    second.resolve('two');
    await expect(p2).resolves.toBe('two');
    expect(flight.size).toBe(0);
  });

  it('a caller that starts after a change of the key ended does not join the older computation', async () => {
    const changes = new Changes();
    const flight = new SingleFlight(changes);
    const old = deferred<string>();
    const fresh = deferred<string>();
    const tickets: number[] = [];
    const p1 = flight.run('k', (ticket) => (tickets.push(ticket), old.promise));
    const end = changes.beginKeys(['k']);
    // While the invalidation runs, callers still join (they began before it completed).
    expect(flight.run('k', () => fresh.promise)).toBe(p1);
    end();
    const p2 = flight.run('k', (ticket) => (tickets.push(ticket), fresh.promise));
    expect(p2).not.toBe(p1);
    expect(flight.run('k', () => Promise.resolve('x'))).toBe(p2);
    expect(changes.unchangedSince('k', tickets[0]!)).toBe(false);
    expect(changes.unchangedSince('k', tickets[1]!)).toBe(true);
    old.resolve('old');
    await p1;
    // The older computation settling does not release the newer one.
    expect(flight.run('k', () => Promise.resolve('y'))).toBe(p2);
    fresh.resolve('fresh');
    await expect(p2).resolves.toBe('fresh');
    expect(flight.size).toBe(0);
  });

  it('a change of another key, or one still running, does not split a computation', () => {
    const changes = new Changes();
    const flight = new SingleFlight(changes);
    const d = deferred<string>();
    const p1 = flight.run('k', () => d.promise);
    changes.beginKeys(['other'])();
    changes.beginKeys(['k']); // running, not ended
    expect(flight.run('k', () => Promise.resolve('x'))).toBe(p1);
    changes.beginBroad()();
    expect(flight.run('k', () => Promise.resolve('x'))).not.toBe(p1);
    d.resolve('done');
  });
});
