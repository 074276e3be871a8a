import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { InvalidationEvent } from './invalidation.js';
import { MissedReplay } from './missed-replay.js';

/** A replay whose store is up or down on demand, and that records what it was asked and told. */
function replayOf(options: { up?: boolean; max?: number } = {}) {
  const state = { up: options.up ?? false, attempts: [] as number[], replayed: [] as unknown[] };
  const emptied: number[] = [];
  let overflows = 0;
  const replay = new MissedReplay({
    prefix: 'app:',
    maxDelayMs: 2_000,
    max: options.max,
    apply: () => {
      state.attempts.push(Date.now());
      return Promise.resolve(state.up);
    },
    replayed: (invalidation: InvalidationEvent) => state.replayed.push(invalidation),
    emptied: (count) => emptied.push(count),
    overflowed: () => overflows++,
  });
  return { replay, state, emptied, overflows: () => overflows };
}

describe('MissedReplay', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('replays without any read once the store answers, backing off from 250 ms to the breaker open time', async () => {
    const { replay, state, emptied } = replayOf();
    replay.add({ kind: 'keys', keys: ['app:a'] });
    expect(replay.pending).toBe(true);
    expect(jest.getTimerCount()).toBe(1);
    await jest.advanceTimersByTimeAsync(249);
    expect(state.attempts).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    // 250, then +500, +1000, +2000, +2000: doubled after each failure, capped at maxDelayMs.
    await jest.advanceTimersByTimeAsync(5_500);
    expect(state.attempts).toEqual([250, 750, 1_750, 3_750, 5_750]);
    expect(replay.nextDelayMs).toBe(2_000);

    state.up = true;
    await jest.advanceTimersByTimeAsync(2_000);
    expect(state.attempts).toHaveLength(6);
    expect(state.replayed).toEqual([{ kind: 'keys', keys: ['app:a'] }]);
    expect(emptied).toEqual([1]);
    expect(replay.pending).toBe(false);
    expect(jest.getTimerCount()).toBe(0); // nothing left once empty
    expect(replay.nextDelayMs).toBe(250); // and the next outage starts over
  });

  it('replays every waiting invalidation in one attempt and tells each once', async () => {
    const { replay, state, emptied } = replayOf({ up: true });
    replay.add({ kind: 'keys', keys: ['app:a'] });
    replay.add({ kind: 'pattern', glob: 'app:p*' });
    replay.add({ kind: 'keys', keys: ['app:b'] });
    await jest.advanceTimersByTimeAsync(250);
    expect(state.replayed).toEqual([
      { kind: 'keys', keys: ['app:a', 'app:b'] },
      { kind: 'pattern', glob: 'app:p*' },
    ]);
    expect(emptied).toEqual([2]);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('replays at once when asked (a read), and schedules again what is recorded during a replay', async () => {
    const { replay, state } = replayOf({ up: true });
    replay.now(); // nothing waits: nothing runs
    expect(state.attempts).toEqual([]);
    replay.add({ kind: 'keys', keys: ['app:a'] });
    replay.now();
    expect(jest.getTimerCount()).toBe(0); // the timer gave way to the attempt
    replay.add({ kind: 'keys', keys: ['app:b'] }); // recorded while the first is being replayed
    await replay.idle();
    expect(state.replayed).toEqual([
      { kind: 'keys', keys: ['app:a'] },
      { kind: 'keys', keys: ['app:b'] },
    ]);
    expect(replay.pending).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('tells when it overflowed into a namespace clear, and replays that clear', async () => {
    const { replay, state, overflows } = replayOf({ up: true, max: 2 });
    for (const key of ['a', 'b', 'c', 'd']) replay.add({ kind: 'keys', keys: [`app:${key}`] });
    expect(overflows()).toBe(1);
    expect(replay.size).toBe(1);
    await jest.advanceTimersByTimeAsync(250);
    expect(state.replayed).toEqual([{ kind: 'clear', prefix: 'app:' }]);
  });

  it('leaves no timer after stop, and records nothing more', async () => {
    const { replay, state } = replayOf();
    replay.add({ kind: 'keys', keys: ['app:a'] });
    await jest.advanceTimersByTimeAsync(250);
    expect(jest.getTimerCount()).toBe(1);
    replay.stop();
    expect(jest.getTimerCount()).toBe(0);
    replay.add({ kind: 'keys', keys: ['app:b'] });
    replay.now();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(state.attempts).toHaveLength(1);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('stops a replay in progress after the invalidation it is applying', async () => {
    let release!: (applied: boolean) => void;
    const applied: InvalidationEvent[] = [];
    const replay = new MissedReplay({
      prefix: 'app:',
      maxDelayMs: 2_000,
      apply: (invalidation) =>
        new Promise<boolean>((resolve) => {
          applied.push(invalidation);
          release = resolve;
        }),
      replayed: () => undefined,
    });
    replay.add({ kind: 'pattern', glob: 'app:x*' });
    replay.add({ kind: 'pattern', glob: 'app:y*' });
    replay.now();
    replay.stop();
    const idle = replay.idle();
    release(true);
    await idle;
    expect(applied).toEqual([{ kind: 'pattern', glob: 'app:x*' }]);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('makes one last attempt on demand, then schedules nothing; resolves to what still waits', async () => {
    const { replay, state } = replayOf({ up: true });
    replay.add({ kind: 'keys', keys: ['app:a'] });
    expect(await replay.last()).toBe(0);
    expect(state.attempts).toEqual([0]); // at once, not after the 250 ms delay
    expect(state.replayed).toEqual([{ kind: 'keys', keys: ['app:a'] }]);

    const down = replayOf({ up: false });
    down.replay.add({ kind: 'keys', keys: ['app:a', 'app:b'] });
    down.replay.add({ kind: 'tags', tags: ['app:t'] });
    expect(await down.replay.last()).toBe(3);
    expect(down.state.attempts).toHaveLength(1);
    expect(jest.getTimerCount()).toBe(0); // no retry is left behind
  });

  it('tells what still waits after each attempt that left some, and nothing once all is replayed', async () => {
    const told: unknown[][] = [];
    const state = { up: false };
    const replay = new MissedReplay({
      prefix: 'app:',
      maxDelayMs: 2_000,
      apply: () => Promise.resolve(state.up),
      replayed: () => undefined,
      stillMissed: (waiting) => told.push(waiting),
    });
    replay.add({ kind: 'keys', keys: ['app:a', 'app:b'] });
    replay.add({ kind: 'tags', tags: ['app:t'] });
    await jest.advanceTimersByTimeAsync(250);
    expect(told).toEqual([
      [
        { kind: 'tags', tags: ['app:t'] },
        { kind: 'keys', keys: ['app:a', 'app:b'] },
      ],
    ]);
    state.up = true;
    await jest.advanceTimersByTimeAsync(500);
    expect(told).toHaveLength(1);
    expect(replay.pending).toBe(false);
  });
});
