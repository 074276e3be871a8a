import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import type { TieredCache } from '../src/core/tiered-cache.js';
import type { CacheModuleOptions } from '../src/interfaces/cache-module-options.interface.js';
import {
  createTlsMaterial,
  startTlsRedis,
  type TlsMaterial,
  type TlsRedis,
} from './redis-tls.harness.js';
import { createTestCache, RecordingLogger } from './test-cache.js';
import { waitFor } from './wait-for.js';

/**
 * Managed Redis as production runs it: TLS (`rediss://`) with the provider's CA, a password for
 * the default user, an ACL user, and what is logged when the credentials are wrong. One
 * `redis-server` with a TLS port, a certificate made at test time, `requirepass` and an ACL user.
 */
const PASSWORD = 'default-secret';
const APP_USER = 'cache-app';
const APP_PASSWORD = 'app-secret';

describe('a Redis tier over TLS with a password or an ACL user', () => {
  let material: TlsMaterial;
  let redis: TlsRedis;
  let admin: Redis;
  let engine: TieredCache | undefined;

  beforeAll(async () => {
    material = createTlsMaterial();
    redis = await startTlsRedis(material, [
      ...['--requirepass', PASSWORD],
      ...['--user', APP_USER, 'on', `>${APP_PASSWORD}`, '~*', '&*', '+@all'],
    ]);
    admin = new Redis({ port: redis.server.port, host: '127.0.0.1', password: PASSWORD });
  });
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });
  afterAll(async () => {
    admin.disconnect();
    await redis.server.stop();
    material.remove();
  });

  /** A cache whose only tier is this Redis, so that every value read back went through it. */
  const sharedOnly = async (
    shared: CacheModuleOptions['shared'],
    logger = new RecordingLogger(),
  ) => {
    const built = await createTestCache({ namespace: 'tls', shared }, logger);
    engine = built.engine;
    return { cache: built.cache, logger };
  };

  /** Writes and reads back through the shared tier; resolves to what was read and stored. */
  const roundTrip = async (shared: CacheModuleOptions['shared']) => {
    const { cache, logger } = await sharedOnly(shared);
    const key = `k${Math.random().toString(36).slice(2)}`;
    await cache.set(key, { ok: true });
    return { read: await cache.get(key), stored: await admin.exists(`tls:${key}`), logger };
  };

  it('rediss:// with the password in the URL and the CA in redisOptions.tls', async () => {
    const { read, stored, logger } = await roundTrip({
      backend: 'redis',
      url: `rediss://:${PASSWORD}@127.0.0.1:${redis.tlsPort}`,
      redisOptions: { tls: { ca: material.ca } },
    });
    expect(read).toEqual({ ok: true });
    expect(stored).toBe(1);
    expect(logger.lines).toEqual([]);
  });

  it('an ACL user, with user and password in redisOptions (secrets kept out of the URL)', async () => {
    const { read, stored } = await roundTrip({
      backend: 'redis-atomic',
      url: `rediss://127.0.0.1:${redis.tlsPort}`,
      redisOptions: { username: APP_USER, password: APP_PASSWORD, tls: { ca: material.ca } },
    });
    expect(read).toEqual({ ok: true });
    expect(stored).toBe(1);
    const clients = String(await admin.client('LIST'));
    expect(clients).toMatch(new RegExp(`user=${APP_USER}`));
  });

  it('an ACL user limited to the namespace, with the invalidation bus (the README rule)', async () => {
    // The rule the README gives, for namespace "tls" and the bus's default channel.
    await admin.call(
      'ACL',
      ...`SETUSER limited on >${APP_PASSWORD} resetchannels ~tls:*`.split(' '),
      ...'&ntc:bus:tls &__redis__:invalidate -@all +@read +@write +@keyspace'.split(' '),
      ...'+@scripting +@pubsub +@connection +info +time +client|id +client|tracking'.split(' '),
    );
    const logger = new RecordingLogger();
    const built = await createTestCache(
      {
        namespace: 'tls',
        local: { backend: 'memory' },
        shared: {
          backend: 'redis',
          url: `rediss://limited:${APP_PASSWORD}@127.0.0.1:${redis.tlsPort}`,
          redisOptions: { tls: { ca: material.ca } },
        },
      },
      logger,
    );
    engine = built.engine;
    const { cache } = built;
    await cache.set('user:1', { id: 1 }, { tags: ['users'] });
    await cache.set('user:2', { id: 2 });
    expect(await admin.exists('tls:user:1', 'tls:user:2')).toBe(2);
    expect(await cache.deleteByTag('users')).toBe(1);
    expect(await cache.deletePattern('user:*')).toBe(1);
    expect(await admin.exists('tls:user:1', 'tls:user:2')).toBe(0);
    expect(engine.busStats()).toMatchObject({ connected: true, mode: 'tracking' });
    expect(logger.lines).toEqual([]);
  });

  it('the server is checked: without its CA the connection is refused', async () => {
    const { cache, logger } = await sharedOnly({
      backend: 'redis',
      url: `rediss://:${PASSWORD}@127.0.0.1:${redis.tlsPort}`,
      connectTimeout: '300ms',
    });
    await cache.set('untrusted', 1);
    expect(await cache.get('untrusted')).toBeUndefined();
    expect(logger.matching('warn', 'shared tier (redis) is not reachable yet')).toHaveLength(1);
  });

  it.each([
    ['a wrong password', `rediss://:wrong-${PASSWORD}@127.0.0.1`, 'WRONGPASS'],
    ['an unknown ACL user', `rediss://nobody:${APP_PASSWORD}@127.0.0.1`, 'WRONGPASS'],
    ['no password', 'rediss://127.0.0.1', 'NOAUTH'],
  ])(
    'reports %s as an authentication failure, once over every retry, without the password',
    async (_case, base, code) => {
      const before = await connections(admin);
      const { logger } = await sharedOnly({
        backend: 'redis',
        url: `${base}:${redis.tlsPort}`,
        redisOptions: { tls: { ca: material.ca } },
        connectTimeout: '300ms',
      });
      // ioredis retries with a growing delay (50, 100, 200 ms...): wait for three more attempts.
      await waitFor(async () => (await connections(admin)) >= before + 4, 'three retries');
      expect(logger.lines).toEqual([
        {
          level: 'error',
          message: `shared tier (redis): Redis refused to authenticate the connection (${code}): check the user and password (in the URL or redisOptions); serving without it, retrying`,
        },
      ]);
      const logged = JSON.stringify(logger.lines);
      expect(logged).not.toContain(PASSWORD);
      expect(logged).not.toContain(APP_PASSWORD);
    },
  );

  it('reports a rotated password again once the connection had recovered, not on each retry', async () => {
    const user = 'rotating';
    await admin.call('ACL', 'SETUSER', user, 'on', '>old', '~*', '&*', '+@all');
    const { cache, logger } = await sharedOnly({
      backend: 'redis',
      url: `rediss://${user}:old@127.0.0.1:${redis.tlsPort}`,
      redisOptions: { tls: { ca: material.ca } },
    });
    const rotate = async (password: string) => {
      await admin.call('ACL', 'SETUSER', user, 'resetpass', `>${password}`);
      await admin.call('CLIENT', 'KILL', 'USER', user);
    };
    const refusals = () => logger.matching('error', 'refused to authenticate').length;

    await rotate('new');
    await waitFor(() => refusals() === 1, 'the first refusal is reported');
    const attempts = await connections(admin);
    await waitFor(async () => (await connections(admin)) >= attempts + 2, 'two more attempts');
    expect(refusals()).toBe(1);

    await admin.call('ACL', 'SETUSER', user, '>old'); // the old password works again
    const roundTrips = async () => {
      await cache.set('after', 1);
      return (await cache.get('after')) === 1;
    };
    await waitFor(roundTrips, 'the connection recovers', 10_000, 20);

    await rotate('newer');
    await waitFor(() => refusals() === 2, 'the next refusal is reported again');
    expect(logger.matching('error', '(WRONGPASS)')).toHaveLength(2);
    await admin.call('ACL', 'DELUSER', user);
  });
});

/** How many connections the server accepted so far (each retry of a client is one). */
async function connections(admin: Redis): Promise<number> {
  return Number(/total_connections_received:(\d+)/.exec(await admin.info('stats'))?.[1]);
}
