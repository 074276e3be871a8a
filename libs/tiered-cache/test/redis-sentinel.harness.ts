import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, rawCommand } from './redis-server.harness.js';

/** Options of {@link RedisSentinelHarness.start}. */
export interface SentinelOptions {
  /** Sentinels that must agree the master is down (default 1). */
  quorum?: number;
  /** `down-after-milliseconds` (default 60000: no failover unless asked). */
  downAfterMs?: number;
  /** `failover-timeout` in ms (default Redis's 180000). */
  failoverTimeoutMs?: number;
}

/** The master name every test sentinel monitors. */
export const SENTINEL_MASTER_NAME = 'ntc-master';

/**
 * A Redis Sentinel (`redis-server --sentinel`) on a free loopback port, monitoring one master
 * (quorum 1), for tests that connect through Sentinel. Its config file lives in a temporary folder.
 */
export class RedisSentinelHarness {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    /** The port the sentinel listens on. */
    readonly port: number,
  ) {}

  /** Starts a sentinel monitoring `127.0.0.1:<masterPort>` and resolves once it knows the master. */
  static async start(
    masterPort: number,
    options: SentinelOptions = {},
  ): Promise<RedisSentinelHarness> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ntc-sentinel-'));
    const port = await freePort();
    const config = path.join(dir, 'sentinel.conf');
    writeFileSync(
      config,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${masterPort} ${options.quorum ?? 1}`,
        `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} ${options.downAfterMs ?? 60000}`,
        ...(options.failoverTimeoutMs === undefined
          ? []
          : [`sentinel failover-timeout ${SENTINEL_MASTER_NAME} ${options.failoverTimeoutMs}`]),
        '',
      ].join('\n'),
    );
    const child = spawn('redis-server', [config, '--sentinel', '--loglevel', 'warning'], {
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    const harness = new RedisSentinelHarness(child, dir, port);
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        const reply = await rawCommand(
          port,
          `SENTINEL get-master-addr-by-name ${SENTINEL_MASTER_NAME}`,
        );
        if (reply.startsWith('*2')) return harness;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await harness.stop();
        throw new Error(`redis sentinel on port ${port} did not start within 5 s`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Runs a command on the sentinel through a raw socket; resolves to the first reply line. */
  command(command: string): Promise<string> {
    return rawCommand(this.port, command);
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Stops the sentinel and removes its folder. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
