/**
 * One instance of the bus fan-out bench (forked by `bus-fanout.ts`): an engine-like connection
 * that writes at a fixed rate, with a bus on it ('tracking' or 'pubsub') or none ('none').
 */
import { Redis } from 'ioredis';
import { serve } from '../infra/processes.js';

type Invalidation = { kind: 'keys'; keys: readonly string[] } | { kind: 'other' };
/** What this bench uses of the library's internal `InvalidationBus`. */
interface Bus {
  start(): Promise<void>;
  publish(invalidation: { kind: 'keys'; keys: string[] }, options: { redisChanged: boolean }): void;
  onRemoteInvalidation(handler: (invalidation: Invalidation) => void): void;
  stats(): { sent: number; received: number; mode: string };
  close(): Promise<void>;
}
// The bus is internal to the library (not exported); the bench loads it from the library's build
// (`npm run build:bench` builds it), by a path the type-checker does not follow.
const LIB = '../../../../libs/tiered-cache/dist/';
const { InvalidationBus } = (await import(`${LIB}bus/invalidation-bus.js`)) as {
  InvalidationBus: new (options: Record<string, unknown>) => Bus;
};
const { defaultRedisOptions } = (await import(`${LIB}backends/redis-connection.js`)) as {
  defaultRedisOptions: () => Record<string, unknown>;
};

type Mode = 'tracking' | 'pubsub' | 'none';

let connection: Redis | undefined;
let bus: Bus | undefined;
/** Receipt times (epoch ms, sub-ms precision) of each probe key, in order. */
const receipts = new Map<string, number[]>();
let keysReceived = 0;

const now = () => performance.timeOrigin + performance.now();

serve(
  {
    async start(message) {
      const mode = message.mode as Mode;
      connection = new Redis(message.url as string, defaultRedisOptions());
      await new Promise<void>((resolve) => connection!.once('ready', () => resolve()));
      if (mode === 'none') return {};
      bus = new InvalidationBus({
        connection,
        namespace: 'bench',
        tracking: mode === 'tracking',
        logger: { log: () => undefined, warn: () => undefined, error: () => undefined },
      });
      bus.onRemoteInvalidation((invalidation) => {
        if (invalidation.kind !== 'keys') return;
        keysReceived += invalidation.keys.length;
        for (const key of invalidation.keys) {
          if (!key.startsWith('bench:lat:')) continue;
          const list = receipts.get(key) ?? [];
          list.push(now());
          receipts.set(key, list);
        }
      });
      await bus.start();
      return bus.stats();
    },

    /** Writes `rate` keys a second for `durationMs`; the prober also sets then deletes probe keys. */
    async run(message) {
      const rate = message.rate as number;
      const durationMs = message.durationMs as number;
      const probe = message.probe === true;
      const client = connection!;
      const write = async (key: string, del = false) => {
        if (del) await client.del(key);
        else await client.set(key, 'v');
        bus?.publish({ kind: 'keys', keys: [key] }, { redisChanged: true });
      };
      const before = bus?.stats();
      const keysBefore = keysReceived;
      const cpu = process.cpuUsage();
      const started = performance.now();
      const probes: { key: string; set: number; del?: number }[] = [];
      let writes = 0;
      const tickMs = 10;
      await new Promise<void>((resolve) => {
        let due = 0;
        const timer = setInterval(() => {
          const elapsed = performance.now() - started;
          if (elapsed >= durationMs) {
            clearInterval(timer);
            resolve();
            return;
          }
          const target = Math.floor((elapsed / 1000) * rate);
          for (; due < target; due++) {
            writes++;
            void write(`bench:k${Math.floor(Math.random() * 1000)}`);
          }
          if (probe) {
            const previous = probes.at(-1);
            const key = `bench:lat:${probes.length}`;
            const entry = { key, set: 0 } as { key: string; set: number; del?: number };
            probes.push(entry);
            void write(key).then(() => (entry.set = now()));
            if (previous !== undefined)
              void write(previous.key, true).then(() => (previous.del = now()));
          }
        }, tickMs);
      });
      await new Promise((resolve) => setTimeout(resolve, 300)); // let the last messages land
      const used = process.cpuUsage(cpu);
      const after = bus?.stats();
      return {
        cpuMs: (used.user + used.system) / 1000,
        durationMs,
        writes,
        sent: (after?.sent ?? 0) - (before?.sent ?? 0),
        messagesReceived: (after?.received ?? 0) - (before?.received ?? 0),
        keysReceived: keysReceived - keysBefore,
        mode: after?.mode,
        probes,
        receipts: Object.fromEntries(receipts),
      };
    },
  },
  async () => {
    await bus?.close();
    connection?.disconnect();
  },
);
