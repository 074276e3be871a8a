import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CacheError, CacheErrorCode } from '../cache.errors.js';
import { withDeadline } from './deadline.js';

function later<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms));
}

const never = () => new Promise<never>(() => undefined);

describe('withDeadline', () => {
  it('settles like the promise when it settles in time', async () => {
    await expect(withDeadline(Promise.resolve('v'), 50, 'op')).resolves.toBe('v');
    await expect(withDeadline(Promise.reject(new Error('boom')), 50, 'op')).rejects.toThrow('boom');
  });

  it('rejects with E_BACKEND_TIMEOUT, naming the call, when the promise is late; the late result is dropped', async () => {
    const started = performance.now();
    const err = (await withDeadline(later(200, 'late'), 30, 'redis get').catch(
      (e: unknown) => e,
    )) as CacheError;
    expect(err).toBeInstanceOf(CacheError);
    expect(err.code).toBe(CacheErrorCode.E_BACKEND_TIMEOUT);
    expect(err.message).toContain('redis get did not finish within 30 ms');
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('times out each call of a shared duration on its own, whatever the order calls settle in', async () => {
    const hung = withDeadline(never(), 40, 'first').catch((e: unknown) => (e as CacheError).code);
    const quick = withDeadline(later(5, 'second'), 40, 'second');
    const hungToo = withDeadline(never(), 40, 'third').catch(
      (e: unknown) => (e as CacheError).code,
    );
    expect(await quick).toBe('second');
    expect(await hung).toBe(CacheErrorCode.E_BACKEND_TIMEOUT);
    expect(await hungToo).toBe(CacheErrorCode.E_BACKEND_TIMEOUT);
    // The queue keeps working after it emptied.
    await expect(withDeadline(later(1, 'again'), 40, 'again')).resolves.toBe('again');
    await expect(
      withDeadline(never(), 20, 'again').catch((e: unknown) => (e as CacheError).code),
    ).resolves.toBe(CacheErrorCode.E_BACKEND_TIMEOUT);
  });

  it('keeps many calls in flight (more than the queue compacts at) and answers each', async () => {
    const calls = Array.from({ length: 3_000 }, (_, i) =>
      withDeadline(later(i % 7, i), 500, 'many'),
    );
    const values = await Promise.all(calls);
    expect(values).toEqual(Array.from({ length: 3_000 }, (_, i) => i));
  });
});

describe('withDeadline after a stall of this process', () => {
  // A real other process answers (30 ms after each message) while this one is busy, as Redis
  // does while a Node process is starved of CPU.
  const ECHO = "process.stdin.on('data', (d) => setTimeout(() => process.stdout.write(d), 30))";
  let echo: ReturnType<typeof spawn>;
  const roundTrip = () => {
    const answered = once(echo.stdout!, 'data').then(([chunk]) => String(chunk));
    echo.stdin!.write('x');
    return answered;
  };
  const busyFor = (ms: number) => {
    const until = performance.now() + ms;
    while (performance.now() < until);
  };

  beforeAll(async () => {
    echo = spawn(process.execPath, ['-e', ECHO], { stdio: ['pipe', 'pipe', 'inherit'] });
    await once(echo, 'spawn');
    expect(await roundTrip()).toBe('x'); // warm: the child is up and echoing
  });
  afterAll(async () => {
    const exited = once(echo, 'exit');
    echo.stdin!.end();
    await exited;
  });

  it('counts an answer that arrived before the deadline as in time, though read after it', async () => {
    const answer = withDeadline(roundTrip(), 20, 'echo');
    busyFor(300); // the timer is due long before the loop gets to read the pipe
    await expect(answer).resolves.toBe('x');
  });

  it('gives a call the time a stall took from it before it was even sent, once', async () => {
    // Sent on the next turn of the loop, after the stall: the other side gets its 100 ms then.
    const sent = new Promise<string>((resolve) =>
      setImmediate(() => void roundTrip().then(resolve)),
    );
    const answer = withDeadline(sent, 100, 'echo');
    busyFor(400);
    await expect(answer).resolves.toBe('x');
  });

  it('still times out a call whose answer had not arrived', async () => {
    const started = performance.now();
    const answer = withDeadline(never(), 20, 'hung');
    busyFor(200);
    await expect(answer.catch((e: unknown) => (e as CacheError).code)).resolves.toBe(
      CacheErrorCode.E_BACKEND_TIMEOUT,
    );
    // The stall (200 ms) earned it one duration (20 ms) more, not another 200 ms.
    expect(performance.now() - started).toBeLessThan(400);
  });
});
