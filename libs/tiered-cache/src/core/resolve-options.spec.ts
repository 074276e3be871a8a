import { describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { MemoryBackend } from '../backends/memory.backend.js';
import { NullBackend } from '../backends/null.backend.js';
import { type CacheError, CacheErrorCode } from '../cache.errors.js';
import type { CacheBackend, CacheEntry } from '../interfaces/cache-backend.interface.js';
import type {
  CacheModuleOptions,
  CustomTierOptions,
} from '../interfaces/cache-module-options.interface.js';
import {
  assertBackend,
  BACKEND_NAMES,
  resolveOptions,
  validateNamespace,
} from './resolve-options.js';
import { catchCacheError } from '../../test/test-cache.js';

/** Resolves options that may be deliberately mistyped. */
function resolve(options: unknown): ReturnType<typeof resolveOptions> {
  return resolveOptions(options as CacheModuleOptions);
}

/** Expects `options` to be refused with `code`, by a message naming `option` (quoted). */
function expectInvalid(
  options: unknown,
  option: string,
  code: CacheErrorCode = CacheErrorCode.E_INVALID_OPTION,
): CacheError {
  const err = catchCacheError(() => resolve(options));
  expect(err.code).toBe(code);
  expect(err.message).toContain(`"${option}"`);
  return err;
}

class FakeBackend implements CacheBackend {
  readonly name = 'fake';
  constructor(readonly options?: CustomTierOptions) {}
  get(): CacheEntry | undefined {
    return undefined;
  }
  set(): void {}
  delete(): number {
    return 0;
  }
  async deletePattern(): Promise<number> {
    return 0;
  }
  async deleteByTags(): Promise<number> {
    return 0;
  }
  async clear(): Promise<void> {}
  async ping(): Promise<number> {
    return 0;
  }
  async close(): Promise<void> {}
}

const fakeRedisClient = { getBuffer: () => undefined };

describe('resolveOptions defaults', () => {
  it('applies every default with no options at all', () => {
    for (const input of [undefined, {}]) {
      const resolved = resolve(input);
      expect(resolved.namespace).toBe('cache');
      expect(resolved.ttlMs).toBe(60_000);
      expect(resolved.graceMs).toBe(0);
      expect(resolved.enabled).toBe(true);
      expect(resolved.local).toMatchObject({
        role: 'local',
        backend: 'memory',
        settings: { maxEntries: 10_000 },
        maxTtlMs: undefined,
        timeoutMs: 1_000,
        required: true,
        breaker: { threshold: 3, openMs: 2_000 },
      });
      expect(resolved.shared).toBeUndefined();
      expect(resolved.clock).toBe(Date.now);
      expect(typeof resolved.logger.warn).toBe('function');
    }
  });

  it('has no local tier when only a shared one is given', () => {
    const shared = { backend: 'redis' as const, url: 'redis://localhost:6379/0' };
    const resolved = resolve({ shared });
    expect(resolved.local).toBeUndefined();
    expect(resolved.shared).toMatchObject({
      role: 'shared',
      backend: 'redis',
      timeoutMs: 250,
      settings: {
        atomic: false,
        target: { url: 'redis://localhost:6379/0' },
        connectTimeoutMs: 2_000,
        maxEntryBytes: 64 * 1024 * 1024,
      },
    });
  });

  it('keeps both tiers when both are given, and a local tier given alone', () => {
    const local = { backend: 'memory' as const, maxEntries: 100 };
    const shared = { backend: 'filesystem' as const, dir: '/tmp/cache' };
    const both = resolve({ local, shared });
    expect(both.local).toMatchObject({ backend: 'memory', settings: { maxEntries: 100 } });
    expect(both.shared).toMatchObject({ backend: 'filesystem', settings: { dir: '/tmp/cache' } });
    const onlyLocal = resolve({ local: { backend: 'null' } });
    expect(onlyLocal.local).toMatchObject({ role: 'local', backend: 'null' });
    expect(onlyLocal.shared).toBeUndefined();
  });

  it('resolves every duration of a tier into ms, once', () => {
    const resolved = resolve({
      local: { backend: 'filesystem', dir: '/d', ttl: '30s', timeout: '2s', pruneInterval: '5m' },
      shared: {
        backend: 'redis-atomic',
        url: 'redis://h',
        timeout: 0.1,
        connectTimeout: '1s',
        maxEntryBytes: 1_000,
        required: false,
      },
    });
    expect(resolved.local).toMatchObject({
      maxTtlMs: 30_000,
      timeoutMs: 2_000,
      settings: { dir: '/d', maxEntries: 10_000, pruneIntervalMs: 300_000 },
    });
    expect(resolved.shared).toMatchObject({
      backend: 'redis-atomic',
      timeoutMs: 100,
      required: false,
      settings: { atomic: true, connectTimeoutMs: 1_000, maxEntryBytes: 1_000 },
    });
  });

  it("gives each tier one default deadline: the backend's own, else by role", () => {
    const timeout = (options: unknown, role: 'local' | 'shared') =>
      resolve(options)[role]?.timeoutMs;
    expect(timeout({ local: { backend: 'redis', url: 'redis://h' } }, 'local')).toBe(250);
    expect(timeout({ shared: { backend: 'redis', url: 'redis://h' } }, 'shared')).toBe(250);
    expect(timeout({ shared: { backend: 'filesystem', dir: '/d' } }, 'shared')).toBe(1_000);
    expect(timeout({ local: { backend: 'memory' } }, 'local')).toBe(1_000);
    expect(timeout({ shared: { backend: 'memory' } }, 'shared')).toBe(250);
    expect(timeout({ shared: { backend: FakeBackend } }, 'shared')).toBe(250);
  });

  it("takes the logger option, or Nest's Logger", () => {
    const logger = { log: () => undefined, warn: () => undefined, error: () => undefined };
    expect(resolve({ logger }).logger).toBe(logger);
    expect(resolve({}).logger).toBeInstanceOf(Logger);
  });

  it('builds the backend a tier names, or null ones when disabled', async () => {
    const context = {
      role: 'local' as const,
      timeoutMs: 1_000,
      clock: Date.now,
      logger: resolve({}).logger,
    };
    const on = await resolve({ local: { backend: 'memory', maxEntries: 5 } }).local!.create(
      context,
    );
    expect(on).toBeInstanceOf(MemoryBackend);
    const off = resolve({ enabled: false, local: { backend: 'memory' } });
    expect(await off.local!.create(context)).toBeInstanceOf(NullBackend);
    const built = await resolve({ local: { backend: FakeBackend, region: 'eu' } }).local!.create(
      context,
    );
    expect((built as FakeBackend).options).toEqual({ backend: FakeBackend, region: 'eu' });
  });

  it('converts durations and keeps explicit values', () => {
    const clock = (): number => 42;
    const resolved = resolve({
      namespace: 'app:v2',
      ttl: '5m',
      grace: 30,
      enabled: false,
      clock,
      isGlobal: true,
    });
    expect(resolved).toMatchObject({
      namespace: 'app:v2',
      ttlMs: 300_000,
      graceMs: 30_000,
      enabled: false,
    });
    expect(resolved.clock).toBe(clock);
    expect(resolve({ ttl: 0.25 }).ttlMs).toBe(250);
    expect(resolve({ grace: 0 }).graceMs).toBe(0);
  });

  it('accepts every built-in backend with its own options', () => {
    expect(BACKEND_NAMES).toEqual([
      'memory',
      'memory-no-serializer',
      'redis',
      'redis-atomic',
      'filesystem',
      'null',
    ]);
    const valid: unknown[] = [
      {
        local: {
          backend: 'memory',
          maxEntries: 1,
          maxBytes: 1024,
          ttl: '10s',
          timeout: '50ms',
          required: false,
        },
      },
      { local: { backend: 'memory-no-serializer', maxEntries: 10 } },
      { local: { backend: 'null' } },
      {
        shared: {
          backend: 'filesystem',
          dir: './cache',
          maxEntries: 5,
          pruneInterval: '1m',
          maxEntryBytes: 1,
        },
      },
      { shared: { backend: 'redis', url: 'redis://localhost:6379' } },
      {
        shared: {
          backend: 'redis',
          url: 'rediss://user:pass@cache.example.com:6380/15',
          connectTimeout: '2s',
          maxEntryBytes: 1_000,
        },
      },
      { shared: { backend: 'redis', url: 'redis://h' } },
      { shared: { backend: 'redis', client: fakeRedisClient } },
      { shared: { backend: 'redis', cluster: { nodes: [{ host: 'h', port: 7000 }] } } },
      {
        shared: {
          backend: 'redis-atomic',
          sentinel: { sentinels: [{ host: 's', port: 26379 }], name: 'mymaster' },
        },
      },
      { shared: { backend: 'redis-atomic', url: 'redis://h:6379/1', redisOptions: { db: 1 } } },
      // Its keys share hash slots (see backends/redis-keys.ts): it works on a Cluster.
      { shared: { backend: 'redis-atomic', cluster: { nodes: [{ host: 'h', port: 7000 }] } } },
    ];
    for (const options of valid) {
      expect(() => resolve(options)).not.toThrow();
    }
  });
});

describe('resolveOptions rejects', () => {
  it('an unknown backend name, listing the valid ones', () => {
    const err = expectInvalid({ shared: { backend: 'redi', url: 'redis://h' } }, 'shared.backend');
    expect(err.message).toContain('"redi" is not a backend');
    for (const name of BACKEND_NAMES) expect(err.message).toContain(name);
    expectInvalid({ local: { backend: 'Memory' } }, 'local.backend');
    expectInvalid({ local: {} }, 'local.backend');
    expectInvalid({ local: { backend: 42 } }, 'local.backend');
    expectInvalid({ local: { backend: null } }, 'local.backend');
    // A bigint cannot be printed by JSON.stringify: still a CacheError, not a TypeError.
    expect(expectInvalid({ local: { backend: 1n } }, 'local.backend').message).toContain('1n');
  });

  it('a tier that is not an object', () => {
    expectInvalid({ local: 'memory' }, 'local');
    expectInvalid({ shared: 5 }, 'shared');
  });

  it('options that are not an object', () => {
    expectInvalid('cache', 'options');
  });

  it.each<[string, unknown]>([
    ['negative', -1],
    ['zero', 0],
    ['unparsable', '5x'],
    ['unitless', '60'],
    ['NaN', Number.NaN],
    ['an object', { minutes: 1 }],
  ])('a %s ttl with E_INVALID_DURATION', (_what, ttl) => {
    expectInvalid({ ttl }, 'ttl', CacheErrorCode.E_INVALID_DURATION);
  });

  it('bad grace, tier ttl, timeout, pruneInterval and connectTimeout durations', () => {
    expectInvalid({ grace: -1 }, 'grace', CacheErrorCode.E_INVALID_DURATION);
    expectInvalid({ grace: 'soon' }, 'grace', CacheErrorCode.E_INVALID_DURATION);
    expectInvalid(
      { local: { backend: 'memory', ttl: '-5s' } },
      'local.ttl',
      CacheErrorCode.E_INVALID_DURATION,
    );
    expectInvalid(
      { local: { backend: 'memory', ttl: 0 } },
      'local.ttl',
      CacheErrorCode.E_INVALID_DURATION,
    );
    expectInvalid(
      { shared: { backend: 'null', timeout: 'fast' } },
      'shared.timeout',
      CacheErrorCode.E_INVALID_DURATION,
    );
    expectInvalid(
      { shared: { backend: 'filesystem', dir: '/d', pruneInterval: 0 } },
      'shared.pruneInterval',
      CacheErrorCode.E_INVALID_DURATION,
    );
    expectInvalid(
      { shared: { backend: 'redis', url: 'redis://h', connectTimeout: 'x' } },
      'shared.connectTimeout',
      CacheErrorCode.E_INVALID_DURATION,
    );
  });

  it('unknown option keys, at the root and in a tier, listing the known ones', () => {
    const uri = expectInvalid({ shared: { backend: 'redis', uri: 'redis://h' } }, 'shared.uri');
    expect(uri.message).toContain('unknown option');
    expect(uri.message).toContain('url');
    expectInvalid({ ttll: '1m' }, 'ttll');
    expectInvalid({ local: { backend: 'memory', dir: '/tmp' } }, 'local.dir');
    expectInvalid({ local: { backend: 'memory-no-serializer', maxBytes: 10 } }, 'local.maxBytes');
    expectInvalid({ local: { backend: 'null', maxEntries: 10 } }, 'local.maxEntries');
    expectInvalid({ shared: { backend: 'filesystem', dir: '/d', url: 'redis://h' } }, 'shared.url');
  });

  it.each<[string, string]>([
    ['not a url', 'is not a URL'],
    ['', 'is not a URL'],
    ['http://x', 'protocol "http:"'],
    ['https://cache.example.com:6379', 'protocol "https:"'],
    ['redis://h:6379/abc', 'database "abc" is not a number'],
    ['redis://h:6379/1.5', 'database "1.5" is not a number'],
    ['redis:///0', 'has no host'],
  ])('the redis url %p', (url, reason) => {
    const err = expectInvalid({ shared: { backend: 'redis', url } }, 'shared.url');
    expect(err.message).toContain(reason);
  });

  it('a redis tier with more or fewer than one connection setting', () => {
    const both = expectInvalid(
      { shared: { backend: 'redis', url: 'redis://h', client: fakeRedisClient } },
      'shared',
    );
    expect(both.message).toContain('exactly one of');
    expect(both.message).toContain('got url, client');
    const none = expectInvalid({ shared: { backend: 'redis' } }, 'shared');
    expect(none.message).toContain('got none');
    expectInvalid(
      {
        local: {
          backend: 'redis-atomic',
          url: 'redis://h',
          sentinel: { sentinels: [{ host: 's', port: 1 }], name: 'm' },
        },
      },
      'local',
    );
  });

  it('bad redis clients, clusters and sentinels', () => {
    expectInvalid({ shared: { backend: 'redis', client: {} } }, 'shared.client');
    expectInvalid({ shared: { backend: 'redis', client: 'redis://h' } }, 'shared.client');
    expectInvalid({ shared: { backend: 'redis', client: null } }, 'shared.client');
    expectInvalid({ shared: { backend: 'redis', cluster: { nodes: [] } } }, 'shared.cluster.nodes');
    expectInvalid({ shared: { backend: 'redis', cluster: null } }, 'shared.cluster.nodes');
    expectInvalid(
      { shared: { backend: 'redis', sentinel: { sentinels: [], name: 'm' } } },
      'shared.sentinel.sentinels',
    );
    expectInvalid(
      { shared: { backend: 'redis', sentinel: { sentinels: [{ host: 's', port: 1 }], name: '' } } },
      'shared.sentinel.name',
    );
    expectInvalid(
      { shared: { backend: 'redis', url: 'redis://h', maxEntryBytes: 0 } },
      'shared.maxEntryBytes',
    );
  });

  it.each<[unknown]>([[0], [1.5], [-3], ['10'], [Number.NaN], [10n]])(
    'memory maxEntries %p',
    (maxEntries) => {
      const err = expectInvalid({ local: { backend: 'memory', maxEntries } }, 'local.maxEntries');
      expect(err.message).toContain('must be an integer >= 1');
    },
  );

  it('other non-integer sizes', () => {
    expectInvalid({ local: { backend: 'memory', maxBytes: 0.5 } }, 'local.maxBytes');
    expectInvalid(
      { local: { backend: 'memory-no-serializer', maxEntries: 0 } },
      'local.maxEntries',
    );
    expectInvalid(
      { shared: { backend: 'filesystem', dir: '/d', maxEntries: 2.5 } },
      'shared.maxEntries',
    );
    expectInvalid(
      { shared: { backend: 'filesystem', dir: '/d', maxEntryBytes: -1 } },
      'shared.maxEntryBytes',
    );
  });

  it('a filesystem tier without a usable dir', () => {
    expectInvalid({ shared: { backend: 'filesystem' } }, 'shared.dir');
    expectInvalid({ shared: { backend: 'filesystem', dir: '   ' } }, 'shared.dir');
    expectInvalid({ local: { backend: 'filesystem', dir: 5 } }, 'local.dir');
  });

  it.each<[string, unknown]>([
    ['empty', ''],
    ['with "*"', 'app*'],
    ['with "?"', 'app?'],
    ['with "["', 'app[1]'],
    ['with a backslash', 'a\\b'],
    ['with braces', 'app{1}'],
    ['with a space', 'my app'],
    ['with a newline', 'app\n'],
    ['with a control character', 'app\u0001'],
    ['reserved "__"', '__internal'],
    ['not a string', 42],
    ['too long', 'n'.repeat(257)],
    ['with a lone high surrogate', 'doc\ud800'],
    ['with a lone low surrogate', '\udfffdoc'],
    ['with surrogates in the wrong order', 'a\udc00\ud800'],
  ])('a namespace %s', (_what, namespace) => {
    expectInvalid({ namespace }, 'namespace');
  });

  it('namespaces that are fine', () => {
    for (const namespace of [
      'a',
      'app:v2',
      '_single',
      'a__b',
      'n'.repeat(256),
      'ünï-cödé.1',
      '🔑:v1',
    ]) {
      expect(resolve({ namespace }).namespace).toBe(namespace);
    }
    expect(() => validateNamespace('feature:name', 'namespace')).not.toThrow();
    expect(catchCacheError(() => validateNamespace('bad*', 'feature.namespace')).message).toContain(
      '"feature.namespace"',
    );
  });

  it('a wrongly typed enabled, clock or logger', () => {
    expectInvalid({ enabled: 'yes' }, 'enabled');
    expectInvalid({ clock: 123 }, 'clock');
    expect(expectInvalid({ logger: console.log }, 'logger').message).toContain('LoggerService');
    expectInvalid({ logger: { log: () => undefined } }, 'logger');
    expectInvalid({ local: { backend: 'memory', required: 'no' } }, 'local.required');
  });
});

describe('the clock option (issue 13, point 10)', () => {
  it.each<[string, () => unknown, string]>([
    ['a Date', () => new Date(), 'it returned a Date'],
    ['a string', () => String(Date.now()), 'it returned a value of type string'],
    ['a bigint', () => BigInt(Date.now()), 'it returned a value of type bigint'],
    ['NaN', () => Number.NaN, 'it returned NaN'],
    ['Infinity', () => Number.POSITIVE_INFINITY, 'it returned Infinity'],
    ['a negative number', () => -1, 'it returned -1'],
    ['undefined', () => undefined, 'it returned a value of type undefined'],
  ])('refuses a clock returning %s, naming the option', (_what, clock, said) => {
    const err = expectInvalid({ clock }, 'clock');
    expect(err.message).toContain('epoch milliseconds');
    expect(err.message).toContain(said);
  });

  it('refuses a clock that throws, by its error class only', () => {
    const err = expectInvalid(
      {
        clock: () => {
          throw new RangeError('secret detail');
        },
      },
      'clock',
    );
    expect(err.message).toContain('it threw (RangeError)');
    expect(err.message).not.toContain('secret detail');
  });

  it('never quotes a Redis URL that does not parse: it may carry a password', () => {
    const err = expectInvalid(
      { shared: { backend: 'redis', url: 'redis//:hunter2@cache:6379' } },
      'shared.url',
    );
    expect(err.message).toContain('is not a URL');
    expect(err.message).not.toContain('hunter2');
  });

  it('refuses durations Redis or a timer cannot take, naming the option', () => {
    expectInvalid({ ttl: '36501d' }, 'ttl', CacheErrorCode.E_INVALID_DURATION);
    expectInvalid({ grace: 1e17 }, 'grace', CacheErrorCode.E_INVALID_DURATION);
    expectInvalid(
      { local: { backend: 'memory', timeout: '25d' } },
      'local.timeout',
      CacheErrorCode.E_INVALID_DURATION,
    );
    expectInvalid(
      { shared: { backend: 'redis', url: 'redis://127.0.0.1:1', connectTimeout: '30d' } },
      'shared.connectTimeout',
      CacheErrorCode.E_INVALID_DURATION,
    );
  });

  it('accepts a fractional clock (rounded where Redis needs whole ms)', () => {
    const clock = () => performance.timeOrigin + performance.now();
    expect(resolve({ clock }).clock).toBe(clock);
  });
});

describe('custom backends', () => {
  it('accepts a complete instance, keeping the tier as given', () => {
    const backend = new FakeBackend();
    const local = { backend, anything: 'for the backend' };
    const resolved = resolve({ local });
    expect(resolved.local?.backend).toBe('fake');
    expect(resolved.local?.create({} as never)).toBe(backend);
  });

  it('accepts a plain object implementing the contract', () => {
    const noop = (): undefined => undefined;
    const backend = {
      name: 'plain',
      get: noop,
      set: noop,
      delete: noop,
      deletePattern: noop,
      deleteByTags: noop,
      clear: noop,
      ping: noop,
      close: noop,
    };
    expect(() => resolve({ shared: { backend } })).not.toThrow();
  });

  it('accepts a class, with options of its own', () => {
    const resolved = resolve({ shared: { backend: FakeBackend, region: 'eu', ttl: '1h' } });
    expect(resolved.shared).toMatchObject({ backend: 'FakeBackend', maxTtlMs: 3_600_000 });
  });

  it('refuses an instance missing methods, listing them', () => {
    const partial = {
      name: 'partial',
      get: () => undefined,
      set: () => undefined,
      ping: 'not a function',
    };
    const err = expectInvalid({ shared: { backend: partial } }, 'shared.backend');
    expect(err.message).toContain('does not implement CacheBackend');
    expect(err.message).toContain('missing delete, deletePattern, clear, ping, close');
    expect(err.message).not.toMatch(/missing.*\bget\b/);
  });

  it('refuses an instance without a string name', () => {
    const backend = new FakeBackend();
    Object.defineProperty(backend, 'name', { value: undefined });
    expect(expectInvalid({ local: { backend } }, 'local.backend').message).toContain('name');
  });

  it('still validates the common tier options of a custom backend', () => {
    expectInvalid(
      { local: { backend: FakeBackend, ttl: -1 } },
      'local.ttl',
      CacheErrorCode.E_INVALID_DURATION,
    );
    expectInvalid({ local: { backend: new FakeBackend(), required: 1 } }, 'local.required');
  });

  it('assertBackend checks what a class constructed', () => {
    expect(() => assertBackend(new FakeBackend(), 'shared.backend')).not.toThrow();
    expect(catchCacheError(() => assertBackend(undefined, 'shared.backend')).message).toContain(
      'did not construct an object',
    );
    const err = catchCacheError(() => assertBackend({ name: 'x' }, 'local.backend'));
    expect(err.code).toBe(CacheErrorCode.E_INVALID_OPTION);
    expect(err.message).toContain('"local.backend"');
    expect(err.message).toContain('missing get, set, delete');
  });
});
