import { RedisServerHarness } from './redis-server.harness.js';

describe('RedisServerHarness', () => {
  let redis: RedisServerHarness;

  beforeEach(async () => {
    redis = await RedisServerHarness.start();
  });
  afterEach(async () => {
    await redis.stop();
  });

  it('restart() while running comes back empty on the same port', async () => {
    const port = redis.port;
    expect(await redis.command('SET k v')).toBe('+OK');
    await redis.restart();
    expect(redis.port).toBe(port);
    expect(await redis.command('GET k')).toBe('$-1');
  });

  it('restart() after kill(), after stop(), and of a paused server', async () => {
    await redis.kill();
    expect(redis.running).toBe(false);
    await redis.restart();
    expect(await redis.command('PING')).toBe('+PONG');
    await redis.stop();
    await redis.restart();
    expect(await redis.command('PING')).toBe('+PONG');
    redis.pause();
    await expect(redis.command('PING')).rejects.toThrow(/did not answer/);
    await redis.restart();
    expect(await redis.command('PING')).toBe('+PONG');
  });
});
