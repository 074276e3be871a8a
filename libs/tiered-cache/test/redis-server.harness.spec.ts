import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rawCommand, RedisServerHarness } from './redis-server.harness.js';

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

  it("refuses a port that another redis-server answers (it would share another run's data)", async () => {
    const port = redis.port;
    await redis.stop();
    const other = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', ''],
      {
        stdio: 'ignore',
      },
    );
    try {
      // Wait until the other server answers (an event would need its log; a short poll is enough).
      for (;;) {
        const pong = await rawCommand(port, 'PING', 200).catch(() => '');
        if (pong === '+PONG') break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await expect(redis.restart()).rejects.toThrow(/answered by another redis-server/);
      expect(redis.running).toBe(false);
    } finally {
      other.kill('SIGKILL');
      await once(other, 'exit');
    }
  });
});
