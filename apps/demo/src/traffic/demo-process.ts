import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** The built demo, next to this file's directory in dist. */
const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

/** A demo instance started as a child process on a free loopback port. */
export class DemoProcess {
  private readonly output: string[] = [];
  private exited = false;
  readonly ready: Promise<string>;

  private constructor(
    readonly label: string,
    private readonly child: ChildProcess,
  ) {
    const capture = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim() !== '') this.output.push(line);
      if (this.output.length > 200) this.output.splice(0, this.output.length - 200);
    };
    child.stdout?.on('data', capture);
    child.stderr?.on('data', capture);
    child.once('exit', () => (this.exited = true));
    // The demo reports its URL over the IPC channel once it listens (see main.ts).
    this.ready = new Promise<string>((resolve, reject) => {
      child.on('message', (message: { type?: string; url?: string }) => {
        if (message?.type === 'listening' && typeof message.url === 'string') resolve(message.url);
      });
      child.once('exit', (code, signal) =>
        reject(
          new Error(
            `${label}: the demo exited before listening (${signal ?? `exit code ${code}`})\n${this.tail()}`,
          ),
        ),
      );
      child.once('error', (err) =>
        reject(new Error(`${label}: could not start the demo: ${err.message}`)),
      );
    });
    this.ready.catch(() => undefined);
  }

  /** Starts `node dist/apps/demo/main.js` on 127.0.0.1 and a free port, with extra environment. */
  static start(label: string, env: Record<string, string>): DemoProcess {
    const child = spawn(process.execPath, [MAIN], {
      env: { ...process.env, ...env, PORT: '0', HOST: '127.0.0.1', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    return new DemoProcess(label, child);
  }

  /** The last lines the demo logged, for error messages. */
  tail(lines = 30): string {
    return this.output
      .slice(-lines)
      .map((line) => `  | ${line}`)
      .join('\n');
  }

  /** Synchronous last resort (process 'exit' handler): SIGKILL if still running. */
  killNow(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  /** SIGTERM (the demo closes its database and cache), then SIGKILL after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.exited || this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)),
    );
    if ((await Promise.race([exited, timeout])) === 'timeout') {
      this.child.kill('SIGKILL');
      await exited;
    }
    clearTimeout(timer);
    this.child.channel?.unref();
  }
}
