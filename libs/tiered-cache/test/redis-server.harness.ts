import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const INSTALL_HINT =
  'redis-server was not found on PATH. The tests start their own Redis servers on free loopback ports; ' +
  'install it with `sudo apt-get install -y redis-server` (Debian/Ubuntu) or `brew install redis` (macOS).';

/** Fails with an install hint when `redis-server` is not on PATH. */
export function assertRedisServerAvailable(): void {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) throw new Error(INSTALL_HINT);
}

/** A free TCP port on the loopback interface. */
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

/** Sends one inline command over a raw socket and resolves to the first reply line. */
export async function rawCommand(port: number, command: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis on ${port} did not answer ${command} within ${timeoutMs} ms`));
    }, timeoutMs);
    let data = '';
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8');
      if (data.includes('\r\n')) {
        clearTimeout(timer);
        socket.destroy();
        resolve(data.split('\r\n')[0]!);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}

/** The process id of the server answering on `port` (from `INFO server`, after `AUTH password`). */
async function serverPid(port: number, timeoutMs = 1000, password?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis on ${port} did not answer INFO within ${timeoutMs} ms`));
    }, timeoutMs);
    let data = '';
    socket.on('connect', () =>
      socket.write(`${password === undefined ? '' : `AUTH ${password}\r\n`}INFO server\r\n`),
    );
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8');
      const found = /process_id:(\d+)\r\n/.exec(data);
      if (found === null) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(Number(found[1]));
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}

/**
 * A private `redis-server` on a free loopback port, owned by one test file: it can be stopped,
 * killed (SIGKILL), paused (SIGSTOP), resumed and restarted on the same port. Nothing is persisted.
 */
export class RedisServerHarness {
  private child: ChildProcess | undefined;
  private readonly dir: string;
  /** The default user's password, when `extraArgs` set one (`--requirepass`). */
  private readonly password: string | undefined;

  private constructor(
    readonly port: number,
    /** Extra `redis-server` arguments, e.g. `['--rename-command', 'CLIENT', '']`. */
    private readonly extraArgs: readonly string[] = [],
  ) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'ntc-redis-'));
    const at = extraArgs.indexOf('--requirepass');
    this.password = at < 0 ? undefined : extraArgs[at + 1];
  }

  /**
   * Starts a server on a free port and resolves once it answers PING. `extraArgs` are appended to
   * the command line (they apply again on restart).
   */
  static async start(extraArgs: readonly string[] = []): Promise<RedisServerHarness> {
    assertRedisServerAvailable();
    for (let attempt = 0; ; attempt++) {
      const harness = new RedisServerHarness(await freePort(), extraArgs);
      try {
        await harness.launch();
        return harness;
      } catch (err) {
        await harness.stop();
        if (attempt >= 4) throw err;
      }
    }
  }

  /** `redis://127.0.0.1:<port>`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** True while the process is running (paused counts as running). */
  get running(): boolean {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    );
  }

  /**
   * Starts the process again on the same port, empty (nothing is persisted): after `stop` or
   * `kill`, or while it runs (then it is shut down with SIGTERM first, as an orderly restart would).
   */
  async restart(): Promise<void> {
    if (this.running) {
      this.resume();
      await this.terminate('SIGTERM');
    }
    await this.launch();
  }

  /** SIGKILL, as a crash would; resolves once the process is gone. */
  async kill(): Promise<void> {
    await this.terminate('SIGKILL');
  }

  /** Freezes the server (SIGSTOP): connections stay open but nothing answers. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** Thaws a paused server (SIGCONT). */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Runs a command through a raw socket (for test setup, independent of ioredis). */
  command(command: string): Promise<string> {
    return rawCommand(this.port, command);
  }

  /** Stops the server and removes its directory. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.child !== undefined && this.running) {
      this.resume();
      await this.terminate('SIGTERM');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async terminate(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }

  private async launch(): Promise<void> {
    mkdirSync(this.dir, { recursive: true }); // `stop` removed it
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
        '--protected-mode',
        'no',
        '--daemonize',
        'no',
        '--loglevel',
        'warning',
        ...this.extraArgs,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const deadline = Date.now() + 5000;
    for (;;) {
      if (!this.running)
        throw new Error(`redis-server on port ${this.port} exited at start: ${stderr}`);
      try {
        // A server started with a password (`--requirepass`) answers NOAUTH: it is up too.
        const reply = await rawCommand(this.port, 'PING', 500);
        if (reply === '+PONG' || reply.startsWith('-NOAUTH')) {
          // Another process's server may hold the port (picked by a concurrent test run between
          // freePort() and this bind): ours then exits, but the other one answers PING. Only our
          // own process will do, or tests would share another run's data.
          if ((await serverPid(this.port, 500, this.password)) === child.pid) return;
          await this.terminate('SIGKILL');
          throw new Error(`port ${this.port} is answered by another redis-server`);
        }
      } catch (err) {
        if (err instanceof Error && err.message.includes('another redis-server')) throw err;
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(`redis-server on port ${this.port} did not answer PING within 5 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
