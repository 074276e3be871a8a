/**
 * One instance of the coherence scenario, in its own process: a Nest application context with
 * `CacheModule.forRoot` (memory L1 + Redis L2) whose bus is in tracking mode, in pub/sub mode or
 * off. The orchestrator (scenarios/coherence.ts) opens and closes the app, and asks it to delete,
 * to watch its own L1, to measure `set` throughput, or to write at a fixed rate. It may hold
 * several apps at once (one per namespace, the last opened or `use`d is the current one), so that
 * the write-cost measurement can switch between bus settings without reopening anything.
 */
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Redis } from 'ioredis';
import { CacheModule, CacheService } from 'nest-tiered-cache';
import { monotonicMs } from '../infra/clock.js';
import { serve } from '../infra/processes.js';
import type { BusSetting } from '../scenarios/coherence-instances.js';
import { ITEM } from '../servers/bodies.js';

/** The bus's counters, as the engine reports them (`TieredCache.busStats()`). */
interface BusStats {
  connected: boolean;
  mode: 'tracking' | 'pubsub';
  sent: number;
  received: number;
}
interface Engine {
  busStats(): BusStats | undefined;
  readonly shared?: { readonly backend: unknown };
}
interface Bus {
  onRemoteInvalidation(
    handler: (invalidation: { kind: string; keys?: readonly string[] }) => void,
  ): () => void;
}
// The engine is not part of the public API: the bench reaches it through the library's internal
// `cacheViewOf`, from the build (`npm run build:bench` builds it), by a path the type-checker does
// not follow. The same module instance as 'nest-tiered-cache' (the workspace link resolves to it).
const LIB = '../../../../libs/tiered-cache/dist/';
const { cacheViewOf } = (await import(`${LIB}cache.service.js`)) as {
  cacheViewOf: (cache: CacheService) => { engine: Engine };
};
const { busConnectionOf } = (await import(`${LIB}core/bus-connection.js`)) as {
  busConnectionOf: (backend: unknown) => unknown;
};
/** The bus's fence on a single node, used as it is by the floors (see `floor`). */
interface ReadFence {
  watch(): void;
  close(): void;
  answersDue(change: 1 | -1): void;
  fence(): Promise<void>;
}
const { ReadFence } = (await import(`${LIB}bus/read-fence.js`)) as {
  ReadFence: new (connection: Redis) => ReadFence;
};

/** One open app: its Nest context, its cache and the engine behind it. */
interface OpenApp {
  readonly app: INestApplicationContext;
  readonly cache: CacheService;
  readonly engine: Engine;
  /**
   * Once `floor` made this (bus-off) app a floor: what a measured `set` of `key` calls before
   * sending its write (under pub/sub, its batch's PUBLISH and fence), the fence it waits for
   * otherwise, and the floor's subscriber.
   */
  floor?: {
    readonly before: (key: string) => Promise<unknown> | undefined;
    readonly fence: ReadFence;
    readonly subscriber: Redis;
  };
}
/** The open apps by namespace. */
const apps = new Map<string, OpenApp>();
/** The current app: the last one opened or `use`d. */
let currentApp: OpenApp | undefined;
/** Keys evicted from this L1 by other instances' invalidations (or Redis's tracking reports). */
let keysEvicted = 0;
let watching: Promise<number> | undefined;

function currentOpen(): OpenApp {
  if (currentApp === undefined) throw new Error('no app is open');
  return currentApp;
}

function current(): CacheService {
  return currentOpen().cache;
}

/** A factory that never produces a value: its call means L1 missed (nothing is stored). */
let missed = false;
const signalMiss = (): undefined => {
  missed = true;
  return undefined;
};

/**
 * Whether L1 holds a fresh `key`, without a read that could fill it: `getOrSet` limited to L1
 * never asks L2, and its factory returns `undefined`, which is not stored.
 */
async function inLocal(key: string): Promise<boolean> {
  missed = false;
  await current().getOrSet(key, signalMiss, { tier: 'local' });
  return !missed;
}

/** Polls L1 once per event-loop turn until `key` is gone; resolves to when (NaN after `timeoutMs`). */
async function watch(key: string, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (!(await inLocal(key))) return monotonicMs();
    if (performance.now() > deadline) return Number.NaN;
    // Yield to I/O (the bus's subscriber) between two looks.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const KEYS = Array.from({ length: 1_000 }, (_, i) => `item:${i}`);

serve(
  {
    /** Opens the app; resolves to the bus's mode as the engine reports it (undefined when off). */
    async open(message) {
      const namespace = message.namespace as string;
      if (apps.has(namespace)) throw new Error(`an app of namespace ${namespace} is already open`);
      const bus = message.bus as BusSetting;
      @Module({
        imports: [
          CacheModule.forRoot({
            namespace,
            ttl: '1h',
            local: { backend: 'memory', maxEntries: 10_000 },
            shared: { backend: 'redis', url: message.url as string },
            bus: bus === 'off' ? false : { tracking: bus === 'tracking' },
          }),
        ],
      })
      class CoherenceBenchModule {}
      const app = await NestFactory.createApplicationContext(CoherenceBenchModule, {
        logger: ['error', 'warn'],
      });
      const opened = app.get(CacheService);
      const { engine } = cacheViewOf(opened);
      currentApp = { app, cache: opened, engine };
      apps.set(namespace, currentApp);
      keysEvicted = 0;
      // Counts keys as well as messages: one tracking report may carry many keys.
      const internal = (engine as unknown as { bus?: Bus }).bus;
      internal?.onRemoteInvalidation((invalidation) => {
        if (invalidation.kind === 'keys') keysEvicted += invalidation.keys?.length ?? 0;
      });
      const stats = engine.busStats();
      return stats === undefined ? undefined : { mode: stats.mode, connected: stats.connected };
    },

    /** Makes the open app of `namespace` the current one. */
    use(message) {
      const open = apps.get(message.namespace as string);
      if (open === undefined) throw new Error(`no app of namespace ${String(message.namespace)}`);
      currentApp = open;
    },

    /**
     * Makes the current app, opened with the bus off, the floor under a bus in `mode` that keeps
     * the README's promise: only what any such bus must do, by hand, and nothing else of ours.
     * Tracking: Redis tracking of the namespace turned on for the app's connection (BCAST, the
     * namespace's prefix, NOLOOP, redirected to a subscriber that only listens). Pub/sub: the keys
     * set in one tick published (joined by newlines) at its end, behind their `SET`s on the same
     * connection, to a channel this process's subscriber listens to, as every instance's does.
     * Both: each measured `set` then waits for the bus's own fence on a single node
     * (`ReadFence`), after its answer (and the PUBLISH's).
     */
    async floor(message) {
      const open = currentOpen();
      if (open.floor !== undefined) throw new Error('this app is already a floor');
      const namespace = message.namespace as string;
      const connection = busConnectionOf(open.engine.shared?.backend) as Redis | undefined;
      if (connection === undefined) throw new Error('the current app has no Redis connection');
      const subscriber = connection.duplicate({ enableOfflineQueue: true, lazyConnect: false });
      const channel = `floor-bus:${namespace}`;
      if (message.mode === 'tracking') {
        const id = (await subscriber.client('ID')) as number;
        await subscriber.subscribe('__redis__:invalidate');
        await connection.call(
          'CLIENT',
          'TRACKING',
          'on',
          'REDIRECT',
          String(id),
          'BCAST',
          'PREFIX',
          `${namespace}:`,
          'NOLOOP',
        );
      } else await subscriber.subscribe(channel);
      const fence = new ReadFence(connection);
      fence.watch();
      let keys: string[] = [];
      let batch: Promise<unknown> | undefined;
      const publish = () => {
        const published = keys;
        keys = [];
        batch = undefined;
        // As the bus does, the fence is told that the PUBLISH's answer is due.
        fence.answersDue(1);
        return connection
          .publish(channel, published.join('\n'))
          .finally(() => fence.answersDue(-1))
          .then(() => fence.fence());
      };
      // Called before the key's SET is sent: the tick's PUBLISH goes out behind the SETs.
      const before =
        message.mode === 'tracking'
          ? () => undefined
          : (key: string): Promise<unknown> => {
              keys.push(key);
              batch ??= new Promise((resolve) => process.nextTick(() => resolve(publish())));
              return batch;
            };
      open.floor = { before, fence, subscriber };
    },

    /** Closes every open app. */
    async closeApp() {
      await closeAll();
    },

    /** This process's clock, to check that the processes agree on it. */
    clock: monotonicMs,

    /** Stores `key` (both tiers), checks that L1 holds it, then watches L1 until it is gone. */
    async arm(message) {
      const key = message.key as string;
      if (watching !== undefined) throw new Error('already watching a key');
      await current().set(key, ITEM);
      if (!(await inLocal(key))) throw new Error(`L1 did not hold ${key} after set`);
      watching = watch(key, message.timeoutMs as number);
      return true;
    },

    /** When the watched key left L1 (see `monotonicMs`), or null if it did not within the watch timeout. */
    async watched() {
      if (watching === undefined) throw new Error('not watching');
      const at = await watching;
      watching = undefined;
      return Number.isNaN(at) ? null : at;
    },

    /** Deletes `key`; resolves to when `delete()` resolved (see `monotonicMs`). */
    async delete(message) {
      await current().delete(message.key as string);
      return monotonicMs();
    },

    /** `set` with `inflight` concurrent callers for `ms`: sets done, ops/s and CPU µs per set. */
    async measureSet(message) {
      const { cache: c, floor } = currentOpen();
      const ms = message.ms as number;
      const inflight = message.inflight as number;
      let ops = 0;
      const cpu = process.cpuUsage();
      const started = performance.now();
      const end = started + ms;
      // Each caller looks at the clock before every call, so a measurement ends within one call.
      const lane = async (offset: number) => {
        for (let i = offset; performance.now() < end; i++) {
          const key = KEYS[i % KEYS.length]!;
          if (floor === undefined) await c.set(key, ITEM);
          else {
            const fenced = floor.before(key);
            floor.fence.answersDue(1);
            try {
              await c.set(key, ITEM);
            } finally {
              floor.fence.answersDue(-1);
            }
            await (fenced ?? floor.fence.fence());
          }
          ops++;
        }
      };
      await Promise.all(Array.from({ length: inflight }, (_, k) => lane(k * 7)));
      const seconds = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      return { ops, opsPerSec: ops / seconds, cpuUsPerOp: (used.user + used.system) / ops };
    },

    /**
     * Writes (`set` of a random key out of 1,000) at `rate` a second for `durationMs`; then waits
     * `drainMs` for the last messages. CPU is counted over the writing only.
     */
    async load(message) {
      const { cache: c, engine } = currentOpen();
      const rate = message.rate as number;
      const durationMs = message.durationMs as number;
      const drainMs = message.drainMs as number;
      const before = engine.busStats();
      const evictedBefore = keysEvicted;
      let writes = 0;
      let failed = 0;
      const cpu = process.cpuUsage();
      const started = performance.now();
      await new Promise<void>((resolve) => {
        let due = 0;
        const timer = setInterval(() => {
          const elapsed = performance.now() - started;
          if (elapsed >= durationMs) {
            clearInterval(timer);
            resolve();
            return;
          }
          for (const target = Math.floor((elapsed / 1000) * rate); due < target; due++) {
            writes++;
            c.set(KEYS[Math.floor(Math.random() * KEYS.length)]!, ITEM).catch(() => failed++);
          }
        }, 10);
      });
      const used = process.cpuUsage(cpu);
      const seconds = (performance.now() - started) / 1000;
      await new Promise((resolve) => setTimeout(resolve, drainMs));
      const after = engine.busStats();
      return {
        seconds,
        cpuMs: (used.user + used.system) / 1000,
        writes,
        failed,
        sent: (after?.sent ?? 0) - (before?.sent ?? 0),
        received: (after?.received ?? 0) - (before?.received ?? 0),
        keysEvicted: keysEvicted - evictedBefore,
      };
    },
  },
  closeAll,
);

async function closeAll(): Promise<void> {
  const open = [...apps.values()];
  apps.clear();
  currentApp = undefined;
  await Promise.all(open.map((o) => o.app.close()));
  for (const o of open) {
    o.floor?.fence.close();
    o.floor?.subscriber.disconnect();
  }
}
