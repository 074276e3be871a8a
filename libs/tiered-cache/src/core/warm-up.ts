import { CacheError, CacheErrorCode, describeError } from '../cache.errors.js';
import { keyRef } from '../keys/key-encoding.js';
import type {
  SetOptions,
  WarmEntry,
  WarmOptions,
  WarmReport,
} from '../interfaces/cache-service.interface.js';
import type { CacheView } from './cache-view.js';
import { MAX_TIMER_MS, parsePositiveDuration } from './duration.js';
import { withHardTimeout } from './hard-timeout.js';

const noop = (): void => undefined;

/**
 * Loads entries into a cache ahead of traffic, `concurrency` at a time (default 8), storing each
 * with `set` (the cache's own). A failing load is counted (and the first one logged), never thrown;
 * with `hardTimeout`, so is a load that takes longer (a hung one no longer stalls the warm-up).
 * Progress is logged every 10% when the total is known, else every 100 entries.
 */
export async function warmUp(
  view: CacheView,
  set: (key: string, value: unknown, options: SetOptions) => Promise<void>,
  entries: Iterable<WarmEntry> | AsyncIterable<WarmEntry>,
  options?: WarmOptions,
): Promise<WarmReport> {
  const started = performance.now();
  const concurrency = options?.concurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new CacheError(
      CacheErrorCode.E_INVALID_OPTION,
      `Invalid option "concurrency": ${concurrency} must be an integer >= 1`,
    );
  }
  const hardTimeoutMs =
    options?.hardTimeout === undefined
      ? undefined
      : parsePositiveDuration(options.hardTimeout, 'hardTimeout', MAX_TIMER_MS);
  const total = Array.isArray(entries) ? entries.length : undefined;
  const step = total === undefined ? 100 : Math.max(1, Math.ceil(total / 10));
  const report = { loaded: 0, failed: 0 };
  const logger = view.engine.logger;
  const label = `warm-up of ${view.config.name ?? view.config.namespace}`;
  logger.log(`${label}: started${total === undefined ? '' : ` (${total} entries)`}`);
  const iterator =
    Symbol.asyncIterator in entries
      ? (entries as AsyncIterable<WarmEntry>)[Symbol.asyncIterator]()
      : (entries as Iterable<WarmEntry>)[Symbol.iterator]();
  const worker = async () => {
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      const item = next.value;
      try {
        const loading = item.load();
        const value =
          hardTimeoutMs === undefined
            ? await loading
            : await withHardTimeout(
                Promise.resolve(loading),
                hardTimeoutMs,
                String(item.key),
                noop,
              );
        await set(item.key, value, { ttl: item.ttl ?? options?.ttl, tags: item.tags });
        report.loaded++;
      } catch (err) {
        report.failed++;
        if (report.failed === 1)
          logger.warn(`${label}: a load failed (${keyOf(view, item.key)}${describeError(err)})`);
      }
      const done = report.loaded + report.failed;
      if (done % step === 0)
        logger.log(
          `${label}: ${done}${total === undefined ? '' : `/${total}`} done, ${report.failed} failed`,
        );
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const durationMs = performance.now() - started;
  logger.log(
    `${label}: ${report.loaded} loaded, ${report.failed} failed in ${Math.round(durationMs)} ms`,
  );
  return { ...report, durationMs };
}

/** How the log names a warm-up entry's key (by hash), followed by ': '; empty for an invalid key. */
function keyOf(view: CacheView, key: unknown): string {
  return typeof key === 'string' && key !== '' ? `${keyRef(view.storedKey(key))}: ` : '';
}
