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

/** One open app: its Nest context, its cache and the engine behind it. */
interface OpenApp {
  readonly app: INestApplicationContext;
  readonly cache: CacheService;
  readonly engine: Engine;
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
      const c = current();
      const ms = message.ms as number;
      const inflight = message.inflight as number;
      let ops = 0;
      const cpu = process.cpuUsage();
      const started = performance.now();
      const end = started + ms;
      // Each caller looks at the clock before every call, so a measurement ends within one call.
      const lane = async (offset: number) => {
        for (let i = offset; performance.now() < end; i++) {
          await c.set(KEYS[i % KEYS.length]!, ITEM);
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
}
