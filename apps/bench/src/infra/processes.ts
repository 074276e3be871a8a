import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A message a child sends back to the orchestrator: the answer to request `id`. */
interface Reply {
  readonly id: number;
  readonly result?: unknown;
  readonly error?: string;
}

const children = new Set<ChildProcess>();
let nextId = 1;

/**
 * A forked bench process (an HTTP server, a load generator, a library worker) spoken to by
 * request/reply over IPC. Every child is tracked so that {@link stopAll} (run on exit, SIGINT
 * and failures) leaves no process behind; children also exit when the IPC channel closes.
 */
export class Child {
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  private exited = false;
  private stderr = '';

  private constructor(
    readonly label: string,
    readonly process: ChildProcess,
  ) {
    process.on('message', (message: Reply) => {
      const waiter = this.pending.get(message.id);
      if (waiter === undefined) return;
      this.pending.delete(message.id);
      if (message.error !== undefined) waiter.reject(new Error(`${label}: ${message.error}`));
      else waiter.resolve(message.result);
    });
    process.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-4000);
    });
    process.on('exit', (code, signal) => {
      this.exited = true;
      children.delete(process);
      for (const waiter of this.pending.values()) {
        waiter.reject(
          new Error(
            `${label} exited (${signal ?? code}) before answering${this.stderr ? `: ${this.stderr.trim()}` : ''}`,
          ),
        );
      }
      this.pending.clear();
    });
  }

  /** Forks a compiled bench entry (a path relative to this file's folder in dist) with arguments. */
  static start(
    label: string,
    entry: string,
    args: readonly string[],
    execArgv: readonly string[] = [],
  ): Child {
    const file = fileURLToPath(new URL(`../${entry}`, import.meta.url));
    const child = fork(file, [...args], {
      execArgv: [...execArgv],
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      serialization: 'json',
    });
    children.add(child);
    return new Child(label, child);
  }

  /** Sends a request and resolves to the child's answer. */
  call<T>(type: string, payload: Record<string, unknown> = {}): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.label} is not running`));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.process.send({ id, type, ...payload });
    });
  }

  /** Asks the child to finish, and kills it if it has not exited within `graceMs`. */
  async stop(graceMs = 3_000): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    this.call('close').catch(() => undefined);
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

/** Kills every child still running (synchronously: safe in an exit handler). */
export function killAll(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
}

/** Request handlers of a child process, by message type. */
export type Handlers = Record<string, (message: Record<string, unknown>) => unknown>;

/**
 * Serves the orchestrator's requests in a child process. `close` runs `onClose` then exits; the
 * process also exits when the orchestrator goes away (the IPC channel closes).
 */
export function serve(
  handlers: Handlers,
  onClose: () => Promise<void> | void = () => undefined,
): void {
  const send = (reply: Reply) => process.send?.(reply);
  process.on('message', async (message: { id: number; type: string } & Record<string, unknown>) => {
    if (message.type === 'close') {
      try {
        await onClose();
      } finally {
        process.exit(0);
      }
    }
    const handler = handlers[message.type];
    try {
      if (handler === undefined) throw new Error(`unknown request ${message.type}`);
      send({ id: message.id, result: await handler(message) });
    } catch (err) {
      send({
        id: message.id,
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      });
    }
  });
  process.on('disconnect', () => process.exit(0));
}
