import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import { CircuitBreaker } from './circuit-breaker.js';

describe('CircuitBreaker', () => {
  let now: number;
  let changes: Array<['open' | 'closed', unknown]>;
  let onChange: jest.Mock<(state: 'open' | 'closed', cause?: unknown) => void>;

  function breaker(threshold = 3, openMs = 2_000): CircuitBreaker {
    return new CircuitBreaker({ threshold, openMs, clock: () => now }, onChange);
  }

  /** Drives a closed breaker open with `threshold` failures. */
  function open(b: CircuitBreaker, threshold = 3): void {
    for (let i = 0; i < threshold; i++) {
      expect(b.allow()).toBe(true);
      b.failure(new Error(`boom ${i}`));
    }
  }

  beforeEach(() => {
    now = 1_000_000;
    changes = [];
    onChange = jest.fn((state: 'open' | 'closed', cause?: unknown) => {
      changes.push([state, cause]);
    });
  });

  it('starts closed and lets every call through', () => {
    const b = breaker();
    expect(b.isOpen).toBe(false);
    for (let i = 0; i < 10; i++) expect(b.allow()).toBe(true);
    expect(onChange).not.toHaveBeenCalled();
  });

  it('opens after `threshold` consecutive failures, reporting "open" once with the last cause', () => {
    const b = breaker(3);
    b.failure(new Error('one'));
    b.failure(new Error('two'));
    expect(b.isOpen).toBe(false);
    expect(b.allow()).toBe(true);
    expect(onChange).not.toHaveBeenCalled();

    const third = new Error('three');
    b.failure(third);
    expect(b.isOpen).toBe(true);
    expect(changes).toEqual([['open', third]]);

    // Late failures of calls already in flight change nothing and report nothing.
    b.failure(new Error('late'));
    b.failure(new Error('later'));
    expect(onChange).toHaveBeenCalledTimes(1);
  });

  it('counts only consecutive failures: a success in between resets the count', () => {
    const b = breaker(3);
    b.failure('a');
    b.failure('b');
    b.success();
    b.failure('c');
    b.failure('d');
    expect(b.isOpen).toBe(false);
    b.failure('e');
    expect(b.isOpen).toBe(true);
    expect(changes).toEqual([['open', 'e']]);
  });

  it('does not report "closed" for successes while already closed', () => {
    const b = breaker();
    b.success();
    b.failure('x');
    b.success();
    expect(onChange).not.toHaveBeenCalled();
  });

  it('opens on the first failure with a threshold of 1', () => {
    const b = breaker(1);
    b.failure('only');
    expect(b.isOpen).toBe(true);
    expect(b.allow()).toBe(false);
    expect(changes).toEqual([['open', 'only']]);
  });

  it('refuses every call while open, until openMs has passed', () => {
    const b = breaker(3, 2_000);
    open(b);
    expect(b.allow()).toBe(false);
    now += 1_999;
    expect(b.allow()).toBe(false);
    expect(b.allow()).toBe(false);
    expect(b.isOpen).toBe(true);
  });

  it('lets exactly one trial call through once openMs has passed (half-open)', () => {
    const b = breaker(3, 2_000);
    open(b);
    now += 2_000;
    expect(b.allow()).toBe(true);
    expect(b.isOpen).toBe(true); // half-open still counts as open
    expect(b.allow()).toBe(false);
    now += 10_000;
    expect(b.allow()).toBe(false); // still waiting for the trial's outcome
    expect(onChange).toHaveBeenCalledTimes(1);
  });

  it('closes when the trial succeeds, reporting "closed" once', () => {
    const b = breaker(3, 2_000);
    open(b);
    now += 2_500;
    expect(b.allow()).toBe(true);
    b.success();
    expect(b.isOpen).toBe(false);
    expect(changes.map(([state]) => state)).toEqual(['open', 'closed']);
    expect(changes[1]).toEqual(['closed', undefined]);

    b.success();
    for (let i = 0; i < 5; i++) expect(b.allow()).toBe(true);
    expect(onChange).toHaveBeenCalledTimes(2);
  });

  it('after closing, needs `threshold` fresh failures to open again', () => {
    const b = breaker(3, 2_000);
    open(b);
    now += 2_000;
    b.allow();
    b.success();
    b.failure('1');
    b.failure('2');
    expect(b.isOpen).toBe(false);
    b.failure('3');
    expect(b.isOpen).toBe(true);
    expect(changes.map(([state]) => state)).toEqual(['open', 'closed', 'open']);
  });

  it('re-opens when the trial fails, without a second "open" report, and waits openMs again', () => {
    const b = breaker(3, 2_000);
    open(b);
    now += 2_000;
    expect(b.allow()).toBe(true);
    b.failure(new Error('trial failed'));
    expect(b.isOpen).toBe(true);
    expect(onChange).toHaveBeenCalledTimes(1);
    expect(onChange).toHaveBeenCalledWith('open', expect.any(Error));

    // The open period restarts from the failed trial.
    now += 1_999;
    expect(b.allow()).toBe(false);
    now += 1;
    expect(b.allow()).toBe(true);
    expect(b.allow()).toBe(false);

    // A second failed trial is just as quiet; the eventual success is reported once.
    b.failure('again');
    now += 2_000;
    expect(b.allow()).toBe(true);
    b.success();
    expect(changes.map(([state]) => state)).toEqual(['open', 'closed']);
  });

  it('measures openMs on the injected clock only', () => {
    const b = breaker(2, 500);
    open(b, 2);
    // Real time passing does not matter; only the clock does.
    expect(b.allow()).toBe(false);
    now += 499;
    expect(b.allow()).toBe(false);
    now += 1;
    expect(b.allow()).toBe(true);
  });
});
