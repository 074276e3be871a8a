/**
 * One library-level contender in its own process: `node library-worker.js <contender> <redisUrl> <keys>`.
 * Answers `measure` with operations per second over `ms`, with `inflight` concurrent callers.
 */
import { useIoredis5ForBentocache } from '../infra/ioredis5.js';
import { serve } from '../infra/processes.js';

useIoredis5ForBentocache();
const { LIBRARY_CONTENDERS } = await import('./library-contenders.js');

const [id, redisUrl = '', keyCount = '1000'] = process.argv.slice(2) as [string, string?, string?];
const entry = LIBRARY_CONTENDERS[id];
if (entry === undefined) throw new Error(`unknown library contender ${id}`);
const keys = Array.from({ length: Number(keyCount) }, (_, i) => `item:${i}`);
const contender = await entry.create(redisUrl, keys);
for (const key of [keys[0]!, keys[keys.length - 1]!]) {
  if (!(await contender.check(key)))
    throw new Error(`${id}: a read of ${key} did not return the stored value`);
}

/** Runs the synchronous op in a tight loop for `ms`; resolves to ops/s. */
function measureSync(ms: number): number {
  const op = contender.op;
  const n = keys.length;
  let ops = 0;
  let found = 0;
  const started = performance.now();
  const end = started + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 4096; i++) if (op(keys[i % n]!) !== undefined) found++;
    ops += 4096;
  }
  if (found !== ops) throw new Error(`${id}: ${ops - found} reads missed`);
  return ops / ((performance.now() - started) / 1000);
}

/** Runs `inflight` callers, each awaiting one op after the other, for `ms`; resolves to ops/s. */
async function measureAsync(ms: number, inflight: number): Promise<number> {
  const op = contender.op as (key: string) => Promise<unknown>;
  const n = keys.length;
  let ops = 0;
  let missed = 0;
  const started = performance.now();
  const end = started + ms;
  const lane = async (offset: number) => {
    let i = offset;
    while (performance.now() < end) {
      for (let j = 0; j < 64; j++, i++) if ((await op(keys[i % n]!)) === undefined) missed++;
      ops += 64;
    }
  };
  await Promise.all(Array.from({ length: inflight }, (_, k) => lane(k * 7)));
  if (missed > 0) throw new Error(`${id}: ${missed} reads missed`);
  return ops / ((performance.now() - started) / 1000);
}

serve(
  {
    measure: (message) => {
      const ms = message.ms as number;
      const inflight = message.inflight as number;
      return contender.sync ? measureSync(ms) : measureAsync(ms, inflight);
    },
  },
  () => contender.close(),
);
