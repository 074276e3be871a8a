import { expect } from '@jest/globals';
import type { LoggerService } from '@nestjs/common';
import { CacheError } from '../src/cache.errors.js';
import { CacheService } from '../src/cache.service.js';
import { createTieredCache } from '../src/core/create-tiers.js';
import { resolveOptions } from '../src/core/resolve-options.js';
import type { TieredCache } from '../src/core/tiered-cache.js';
import type { CacheModuleOptions } from '../src/interfaces/cache-module-options.interface.js';

/** A clock the test moves by hand (epoch ms). */
export class FakeClock {
  constructor(public now = 1_700_000_000_000) {}
  readonly read = (): number => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

/** A logger that records what it was told, so tests can assert "logged once". */
export class RecordingLogger implements LoggerService {
  readonly lines: Array<{ level: string; message: string }> = [];
  log(message: unknown): void {
    this.lines.push({ level: 'log', message: String(message) });
  }
  warn(message: unknown): void {
    this.lines.push({ level: 'warn', message: String(message) });
  }
  error(message: unknown): void {
    this.lines.push({ level: 'error', message: String(message) });
  }
  debug(): void {}
  verbose(): void {}
  /** Lines at a level containing `text`. */
  matching(level: string, text: string | RegExp): string[] {
    return this.lines
      .filter(
        (l) =>
          l.level === level &&
          (typeof text === 'string' ? l.message.includes(text) : text.test(l.message)),
      )
      .map((l) => l.message);
  }
}

/** Builds a root `CacheService` (and its engine) from module options, without a Nest container. */
export async function createTestCache(
  options: CacheModuleOptions,
  logger: LoggerService = new RecordingLogger(),
): Promise<{
  cache: CacheService;
  engine: TieredCache;
  view: (namespace: string) => CacheService;
}> {
  const resolved = resolveOptions({ ...options, logger: options.logger ?? logger });
  const engine = await createTieredCache(resolved);
  const view = (namespace: string) =>
    new CacheService(engine, {
      name: undefined,
      namespace,
      ttlMs: resolved.ttlMs,
      graceMs: resolved.graceMs,
    });
  return { cache: view(resolved.namespace), engine, view };
}

/** A promise with its resolve/reject exposed. */
export function deferred<T>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Runs `fn`, expecting it to throw a CacheError; returns it. */
export function catchCacheError(fn: () => unknown): CacheError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(CacheError);
  return caught as CacheError;
}
