import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';

const running = new Set<ChildProcess>();

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The `redis-server --version` line, or a hint when it is missing. */
export function redisServerVersion(): string {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'redis-server was not found on PATH; the bench starts its own Redis servers on free loopback ports (install redis-server 7).',
    );
  }
  return probe.stdout.trim();
}

/**
 * A private, throwaway `redis-server` on a free loopback port (nothing persisted), never the
 * shared Redis of the machine. Stopped by {@link BenchRedis.stop} or, on a crash, by {@link killAllRedis}.
 */
export class BenchRedis {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {}

  /** Starts a server and resolves once it answers PING. */
  static async start(extraArgs: readonly string[] = []): Promise<BenchRedis> {
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      const dir = mkdtempSync(path.join(os.tmpdir(), 'ntc-bench-redis-'));
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
          '--protected-mode',
          'no',
          '--daemonize',
          'no',
          '--loglevel',
          'warning',
          ...extraArgs,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      running.add(child);
      child.once('exit', () => running.delete(child));
      const server = new BenchRedis(port, child, dir);
      try {
        await server.waitForPing();
        return server;
      } catch (err) {
        await server.stop();
        if (attempt >= 3) throw err;
      }
    }
  }

  /** `redis://127.0.0.1:<port>`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** A new ioredis client for setup and measurement (the caller quits it). */
  client(): Redis {
    return new Redis(this.port, '127.0.0.1', { lazyConnect: false, maxRetriesPerRequest: 1 });
  }

  /** Stops the server (SIGTERM, then SIGKILL) and removes its folder. Safe to call twice. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async waitForPing(): Promise<void> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      if (this.child.exitCode !== null)
        throw new Error(`redis-server on ${this.port} exited at start`);
      const ok = await new Promise<boolean>((resolve) => {
        const socket = net.connect({ port: this.port, host: '127.0.0.1' });
        socket.setTimeout(300, () => (socket.destroy(), resolve(false)));
        socket.on('connect', () => socket.write('PING\r\n'));
        socket.on(
          'data',
          (chunk) => (socket.destroy(), resolve(chunk.toString().startsWith('+PONG'))),
        );
        socket.on('error', () => (socket.destroy(), resolve(false)));
      });
      if (ok) return;
      if (Date.now() > deadline)
        throw new Error(`redis-server on ${this.port} did not answer PING within 5 s`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

/** Kills every Redis server the bench started (synchronously: safe in an exit handler). */
export function killAllRedis(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}
