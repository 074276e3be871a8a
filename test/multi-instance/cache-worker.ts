import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { CacheModuleOptions, CacheStats } from 'nest-tiered-cache';

/** The worker script: a Nest app with CacheModule, driven over IPC (see its header). */
export const WORKER_SCRIPT = fileURLToPath(
  new URL('../fixtures/cache-worker.mjs', import.meta.url),
);

/**
 * The clock every process on this machine shares: the system's monotonic clock
 * (`process.hrtime`, CLOCK_MONOTONIC on Linux), in ms since an arbitrary origin (the boot) with
 * sub-millisecond precision; the workers stamp their operations with the same expression.
 * Not `performance.timeOrigin + performance.now()`: each process maps its own monotonic time to
 * the wall clock once, when it starts, so a wall clock adjusted in between puts processes
 * milliseconds apart (seen in a CI soak: one worker 2–4 ms ahead of the others, so reads seemed
 * to return values before they were written).
 */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** How a worker is configured: passed to it as JSON. */
export interface WorkerConfig {
  /** Shown in histories and messages. */
  readonly name: string;
  /** Given to `CacheModule.forRoot` as it is (so only JSON-serializable options). */
  readonly cache: CacheModuleOptions;
  /** Serve the items routes over HTTP, with their "database" in this Redis. */
  readonly http?: { readonly dbUrl: string };
  /** Let Nest and the cache log warnings and errors (collected in `output`). */
  readonly logs?: boolean;
}

/** A request to a worker; each op answers with the result named in {@link OpResults}. */
export type WorkerRequest =
  | { op: 'get'; key: string }
  | { op: 'set'; key: string; value: string; tags?: string[]; ttl?: number }
  | { op: 'getOrSet'; key: string; value: string; tags?: string[]; ttl?: number }
  | { op: 'delete'; key: string }
  | { op: 'deletePattern'; pattern: string }
  | { op: 'deleteByTag'; tags: string[] }
  | { op: 'clear' }
  | { op: 'stats' }
  | { op: 'clock' };

/** What each op resolves to. */
export interface OpResults {
  get: { found: boolean; value?: string };
  set: null;
  getOrSet: { value: string; computed: boolean };
  delete: null;
  deletePattern: number;
  deleteByTag: number;
  clear: null;
  stats: CacheStats;
  clock: null;
}

/** An answered request: when it began and ended in the worker (shared clock), and its result. */
export interface Timed<R> {
  readonly begin: number;
  readonly end: number;
  readonly result: R;
}

interface ReplyMessage {
  type: 'reply';
  id: number;
  begin: number;
  end: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

interface ReadyMessage {
  type: 'ready';
  pid: number;
  port?: number;
}

interface Pending {
  resolve: (reply: ReplyMessage) => void;
  reject: (err: Error) => void;
}

/** How long a worker may take to exit after `close` before it is killed and the close fails. */
const CLOSE_TIMEOUT_MS = 10_000;
/** A cache call that takes longer than this never settled (the cache puts deadlines on everything). */
const REQUEST_TIMEOUT_MS = 15_000;

/**
 * One forked worker process (test/fixtures/cache-worker.mjs): a Nest application sharing Redis with
 * its siblings. Requests go over IPC and are answered with the worker's own begin/end timestamps.
 */
export class CacheWorker {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private log = '';
  private readonly exited: Promise<void>;

  private constructor(
    readonly config: WorkerConfig,
    private readonly child: ChildProcess,
  ) {
    this.exited = once(child, 'exit').then(() => {
      const gone = new Error(`worker ${config.name} exited (${this.describeExit()})\n${this.log}`);
      for (const { reject } of this.pending.values()) reject(gone);
      this.pending.clear();
    });
    child.on('message', (message: ReplyMessage) => {
      if (message.type !== 'reply') return;
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      waiter?.resolve(message);
    });
    child.stdout?.on('data', (chunk: Buffer) => (this.log += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (this.log += chunk.toString('utf8')));
  }

  /** The worker's name. */
  get name(): string {
    return this.config.name;
  }

  /** Its process id. */
  get pid(): number {
    return this.child.pid!;
  }

  /** Its HTTP port (with `http`), once ready. */
  port: number | undefined;

  /** Whatever it printed (warnings and errors with `logs`, and any crash). */
  get output(): string {
    return this.log;
  }

  /** True until the process has exited. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Forks a worker and resolves once its application is up. */
  static async start(config: WorkerConfig): Promise<CacheWorker> {
    const child = fork(WORKER_SCRIPT, [JSON.stringify(config)], {
      // Not Jest's --experimental-vm-modules: the worker is plain ESM.
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    const worker = new CacheWorker(config, child);
    const ready = new Promise<ReadyMessage>((resolve) => {
      const onMessage = (message: ReadyMessage) => {
        if (message.type !== 'ready') return;
        child.off('message', onMessage);
        resolve(message);
      };
      child.on('message', onMessage);
    });
    const outcome = await Promise.race([ready, worker.exited.then(() => undefined)]);
    if (outcome === undefined)
      throw new Error(
        `worker ${config.name} failed to start (${worker.describeExit()})\n${worker.log}`,
      );
    worker.port = outcome.port;
    return worker;
  }

  /** Sends one request; rejects if the worker answers with an error or exits first. */
  async request<K extends WorkerRequest['op']>(
    request: Extract<WorkerRequest, { op: K }>,
  ): Promise<Timed<OpResults[K]>> {
    const reply = await this.send(request);
    if (!reply.ok) throw new Error(`worker ${this.name}: ${request.op} failed: ${reply.error}`);
    return { begin: reply.begin, end: reply.end, result: reply.result as OpResults[K] };
  }

  /** The worker's `cache.stats()`. */
  async stats(): Promise<CacheStats> {
    return (await this.request({ op: 'stats' })).result;
  }

  /**
   * Checks that the worker's clock agrees with this process's: a timestamp taken in the worker
   * while a request is in flight must fall between its send and its answer here. Resolves to the
   * largest disagreement seen, in ms (0 when the clocks agree, as they must on one machine).
   */
  async clockDisagreement(rounds = 20): Promise<number> {
    let worst = 0;
    for (let i = 0; i < rounds; i++) {
      const sent = now();
      const { begin } = await this.request({ op: 'clock' });
      const answered = now();
      worst = Math.max(worst, sent - begin, begin - answered);
    }
    return worst;
  }

  /** Freezes the worker (SIGSTOP). */
  pause(): void {
    this.child.kill('SIGSTOP');
  }

  /** Thaws it (SIGCONT). */
  resume(): void {
    this.child.kill('SIGCONT');
  }

  /** SIGKILL, as a crash would; resolves once it is gone. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGCONT');
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /**
   * Closes the application (`app.close()`) and waits for the process to exit by itself. If it does
   * not exit within 10 s, something in it is still open: it is killed and this rejects.
   */
  async close(): Promise<void> {
    if (!this.running) return;
    await this.send({ op: 'close' });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), CLOSE_TIMEOUT_MS);
    });
    const stuck = await Promise.race([this.exited.then(() => false), timedOut]);
    clearTimeout(timer);
    if (stuck) {
      await this.kill();
      throw new Error(
        `worker ${this.name} did not exit within ${CLOSE_TIMEOUT_MS} ms of app.close(): ` +
          `something in it is still open\n${this.log}`,
      );
    }
    if (this.child.exitCode !== 0)
      throw new Error(`worker ${this.name} exited with ${this.describeExit()}\n${this.log}`);
  }

  private send(request: WorkerRequest | { op: 'close' }): Promise<ReplyMessage> {
    if (!this.running || !this.child.connected)
      return Promise.reject(new Error(`worker ${this.name} is not running\n${this.log}`));
    const id = this.nextId++;
    return new Promise<ReplyMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new Error(`worker ${this.name}: ${request.op} not answered in ${REQUEST_TIMEOUT_MS} ms`),
        );
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, {
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      this.child.send({ ...request, id });
    });
  }

  private describeExit(): string {
    return this.child.signalCode !== null
      ? `signal ${this.child.signalCode}`
      : `exit code ${this.child.exitCode}`;
  }
}

/** Starts several workers at once; if any fails to start, the others are killed. */
export async function startWorkers(configs: readonly WorkerConfig[]): Promise<CacheWorker[]> {
  const started = await Promise.allSettled(configs.map((config) => CacheWorker.start(config)));
  const failure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure === undefined)
    return started.map((s) => (s as PromiseFulfilledResult<CacheWorker>).value);
  await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.kill() : undefined)));
  throw failure.reason;
}

/** Closes every worker (each must exit by itself); kills the rest if one fails, then rethrows. */
export async function closeWorkers(workers: readonly CacheWorker[]): Promise<void> {
  const closed = await Promise.allSettled(workers.map((worker) => worker.close()));
  await Promise.all(workers.map((worker) => worker.kill()));
  const failure = closed.find((c): c is PromiseRejectedResult => c.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
}
