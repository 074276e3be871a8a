import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestCache } from '../../test/test-cache.js';
import {
  CLOCK_READ_SHARED_MS,
  READS_PER_CLOCK_READ,
  readClockOf,
  SharedClockReading,
} from './read-clock.js';

/** A clock that counts its readings, and a timer fired by hand. */
function sharedReading() {
  const state = { time: 1_000, readings: 0, timers: [] as Array<{ fn: () => void; ms: number }> };
  const clock = () => (state.readings++, state.time);
  const after = (fn: () => void, ms: number) => {
    const timer = { fn, ms };
    state.timers.push(timer);
    return () => void state.timers.splice(state.timers.indexOf(timer), 1);
  };
  const fire = () => state.timers.splice(0).forEach((timer) => timer.fn());
  return { reading: new SharedClockReading(clock, after), state, fire };
}

describe('SharedClockReading', () => {
  it(`shares one reading of the clock between ${READS_PER_CLOCK_READ} reads at most`, () => {
    const { reading, state } = sharedReading();
    for (let i = 0; i < READS_PER_CLOCK_READ; i++) expect(reading.now()).toBe(1_000);
    expect(state.readings).toBe(1);

    state.time = 1_005;
    expect(reading.now()).toBe(1_005);
    expect(state.readings).toBe(2);
    // One timer at a time, however many readings it covers.
    expect(state.timers).toEqual([{ fn: expect.any(Function), ms: CLOCK_READ_SHARED_MS }]);
  });

  it('reads the clock again once its timer fired', () => {
    const { reading, state, fire } = sharedReading();
    expect(reading.now()).toBe(1_000);
    state.time = 1_001;
    expect(reading.now()).toBe(1_000); // shared, behind the clock, never ahead of it

    fire();
    expect(reading.now()).toBe(1_001);
    expect(state.readings).toBe(2);
    expect(state.timers).toHaveLength(1); // armed again by the fresh reading
  });

  it('stops sharing, and cancels its timer, when stopped', () => {
    const { reading, state } = sharedReading();
    reading.now();
    reading.stop();
    expect(state.timers).toHaveLength(0);
    state.time = 2_000;
    expect(reading.now()).toBe(2_000);
  });

  it("shares a reading for no longer than a turn of the event loop that runs Node's timers", async () => {
    let time = 1_000;
    const reading = new SharedClockReading(() => time);
    try {
      expect(reading.now()).toBe(1_000);
      time = 1_050;
      await sleep(CLOCK_READ_SHARED_MS + 1); // the reading's own timer is due first
      expect(reading.now()).toBe(1_050);
    } finally {
      reading.stop();
    }
  });
});

describe('readClockOf', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it("shares readings of the runtime's own Date.now when the cache runs on the default clock", () => {
    expect(readClockOf(Date.now, true)).toBeInstanceOf(SharedClockReading);
  });

  it('reads a clock given in the options on every read', () => {
    let readings = 0;
    const clock = () => ++readings;
    const read = readClockOf(clock, false);
    expect([read.now(), read.now(), read.now()]).toEqual([1, 2, 3]);
    // Date.now given explicitly (`clock: Date.now`) is read every time too.
    expect(readClockOf(Date.now, false)).not.toBeInstanceOf(SharedClockReading);
  });

  it("reads a fake timers' Date.now on every read, so a test that moves it sees it at once", () => {
    jest.useFakeTimers({ now: 1_000 });
    const read = readClockOf(Date.now, true);
    expect(read).not.toBeInstanceOf(SharedClockReading);
    expect(read.now()).toBe(1_000);
    jest.setSystemTime(5_000);
    expect(read.now()).toBe(5_000);
  });
});

describe('the default clock in a cache', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('expires an entry at once in a test that moves fake timers by hand', async () => {
    jest.useFakeTimers({ now: 1_000_000, doNotFake: ['nextTick', 'queueMicrotask'] });
    const { cache, engine } = await createTestCache({
      namespace: 'app',
      ttl: '1s',
      local: { backend: 'memory-no-serializer' },
    });
    try {
      await cache.set('k', 1);
      expect(await cache.get('k')).toBe(1);
      jest.setSystemTime(1_001_001); // no timer runs: only Date moves
      expect(await cache.get('k')).toBeUndefined();
    } finally {
      await engine.close();
    }
  });

  it('judges reads by a shared reading of the real clock, never ahead of it', async () => {
    const { cache, engine } = await createTestCache({ namespace: 'app', ttl: '1h' });
    try {
      const before = Date.now();
      await cache.set('k', 1);
      expect(engine.readClock.now).not.toBe(Date.now);
      const first = engine.readClock.now();
      expect(first).toBeGreaterThanOrEqual(before);
      for (let i = 0; i < 2 * READS_PER_CLOCK_READ; i++) {
        expect(engine.readClock.now()).toBeLessThanOrEqual(Date.now());
      }
      expect(await cache.get('k')).toBe(1);
    } finally {
      await engine.close();
    }
  });
});
