import type * as PromClientModule from 'prom-client';
import {
  Inject,
  Injectable,
  type LoggerService,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { CACHE_ENGINE } from '../cache.constants.js';
import { CACHE_MODULE_OPTIONS } from '../cache.module-definition.js';
import type { TieredCache } from '../core/tiered-cache.js';
import type { CacheModuleOptions } from '../interfaces/cache-module-options.interface.js';

type PromClient = typeof PromClientModule;
type Registry = PromClientModule.Registry;

/** Default prefix of metric names. */
export const DEFAULT_METRICS_PREFIX = 'nest_tiered_cache_';

/**
 * Prometheus metrics, when `metrics` is set and `prom-client` is installed. Values are read from the
 * cache's own counters when Prometheus scrapes (nothing is added to the request path), and labels
 * are bounded: cache name, tier, backend, result, error code, operation. Never keys.
 */
@Injectable()
export class CacheMetrics implements OnModuleInit, OnApplicationShutdown {
  /** The `logger` module option (or Nest's `Logger`), as the engine got it. */
  private readonly logger: LoggerService;
  private readonly registered: Array<{ registry: Registry; name: string }> = [];
  private readonly errorsByCode = new Map<
    string,
    { tier: string; backend: string; code: string; count: number }
  >();
  private unsubscribe: (() => void) | undefined;

  constructor(
    @Inject(CACHE_ENGINE) private readonly engine: TieredCache,
    @Inject(CACHE_MODULE_OPTIONS) private readonly options: CacheModuleOptions,
  ) {
    this.logger = engine.logger;
  }

  async onModuleInit(): Promise<void> {
    const config = this.options.metrics;
    if (config === undefined || config === false) return;
    let prom: PromClient;
    try {
      prom = await import('prom-client');
    } catch {
      this.logger.warn(
        'metrics: true needs prom-client (npm install prom-client); no metrics are exported',
      );
      return;
    }
    const registry = ((typeof config === 'object' ? config.registry : undefined) ??
      prom.register) as Registry;
    const prefix =
      (typeof config === 'object' ? config.prefix : undefined) ?? DEFAULT_METRICS_PREFIX;
    this.unsubscribe = this.engine.events.on('error', ({ tier, backend, code }) => {
      const id = `${tier}|${code}`;
      const seen = this.errorsByCode.get(id);
      if (seen === undefined) this.errorsByCode.set(id, { tier, backend, code, count: 1 });
      else seen.count++;
    });
    this.define(prom, registry, prefix);
  }

  /** Unregisters the metrics, so an application can be created again in the same process. */
  onApplicationShutdown(): void {
    this.unsubscribe?.();
    for (const { registry, name } of this.registered.splice(0)) registry.removeSingleMetric(name);
  }

  private define(prom: PromClient, registry: Registry, prefix: string): void {
    const engine = this.engine;
    const tiers = () => [engine.local, engine.shared].filter((tier) => tier !== undefined);
    const add = (name: string, create: () => unknown): void => {
      if (registry.getSingleMetric(name) !== undefined) {
        this.logger.warn(
          `metric ${name} is already registered (another cache module in this process?); not registering it again`,
        );
        return;
      }
      create();
      this.registered.push({ registry, name });
    };
    add(
      `${prefix}reads_total`,
      () =>
        new prom.Counter({
          name: `${prefix}reads_total`,
          help: 'Reads through the cache, by cache and result (hit: a fresh value was found in some tier)',
          labelNames: ['cache', 'result'],
          registers: [registry],
          collect() {
            this.reset();
            for (const view of engine.views) {
              const { hits, misses } = view.stats();
              this.inc({ cache: view.label, result: 'hit' }, hits);
              this.inc({ cache: view.label, result: 'miss' }, misses);
            }
          },
        }),
    );
    add(
      `${prefix}stale_total`,
      () =>
        new prom.Counter({
          name: `${prefix}stale_total`,
          help: 'Stale values served within grace because the origin failed or was slow',
          labelNames: ['cache'],
          registers: [registry],
          collect() {
            this.reset();
            for (const view of engine.views) this.inc({ cache: view.label }, view.stats().stale);
          },
        }),
    );
    add(
      `${prefix}tier_reads_total`,
      () =>
        new prom.Counter({
          name: `${prefix}tier_reads_total`,
          help: 'Reads of each tier, by result',
          labelNames: ['tier', 'backend', 'result'],
          registers: [registry],
          collect() {
            this.reset();
            for (const tier of tiers()) {
              const labels = { tier: tier.config.role, backend: tier.backend.name };
              this.inc({ ...labels, result: 'hit' }, tier.counters.hits);
              this.inc({ ...labels, result: 'miss' }, tier.counters.misses);
            }
          },
        }),
    );
    const errorsByCode = this.errorsByCode;
    add(
      `${prefix}errors_total`,
      () =>
        new prom.Counter({
          name: `${prefix}errors_total`,
          help: 'Tier failures (timeouts, connection errors, corrupt entries...), by error code',
          labelNames: ['tier', 'backend', 'code'],
          registers: [registry],
          collect() {
            this.reset();
            for (const { tier, backend, code, count } of errorsByCode.values())
              this.inc({ tier, backend, code }, count);
          },
        }),
    );
    add(
      `${prefix}operation_duration_seconds`,
      () =>
        new prom.Gauge({
          name: `${prefix}operation_duration_seconds`,
          help: 'Duration of the last 1024 reads (get) and writes (set) of each tier, by quantile',
          labelNames: ['tier', 'backend', 'op', 'quantile'],
          registers: [registry],
          collect() {
            this.reset();
            for (const tier of tiers()) {
              for (const op of ['get', 'set'] as const) {
                const p = tier.latency[op].percentiles();
                if (p === undefined) continue;
                const labels = { tier: tier.config.role, backend: tier.backend.name, op };
                this.set({ ...labels, quantile: '0.5' }, msToSeconds(p.p50));
                this.set({ ...labels, quantile: '0.9' }, msToSeconds(p.p90));
                this.set({ ...labels, quantile: '0.99' }, msToSeconds(p.p99));
              }
            }
          },
        }),
    );
    add(
      `${prefix}entries`,
      () =>
        new prom.Gauge({
          name: `${prefix}entries`,
          help: 'Entries held by each tier, where cheap to know (in-process tiers)',
          labelNames: ['tier', 'backend'],
          registers: [registry],
          collect() {
            this.reset();
            for (const tier of tiers()) {
              const size = tier.backend.size?.();
              if (size !== undefined)
                this.set({ tier: tier.config.role, backend: tier.backend.name }, size);
            }
          },
        }),
    );
    add(
      `${prefix}tier_available`,
      () =>
        new prom.Gauge({
          name: `${prefix}tier_available`,
          help: '1 while a tier is in use, 0 while its circuit breaker keeps it out after repeated failures',
          labelNames: ['tier', 'backend'],
          registers: [registry],
          collect() {
            this.reset();
            for (const tier of tiers())
              this.set(
                { tier: tier.config.role, backend: tier.backend.name },
                tier.unavailable ? 0 : 1,
              );
          },
        }),
    );
    if (engine.busStats() === undefined) return;
    add(
      `${prefix}bus_connected`,
      () =>
        new prom.Gauge({
          name: `${prefix}bus_connected`,
          help: '1 while the invalidation bus is subscribed (and, in tracking mode, tracking is redirected to it)',
          labelNames: ['mode'],
          registers: [registry],
          collect() {
            this.reset();
            const bus = engine.busStats();
            if (bus !== undefined) this.set({ mode: bus.mode }, bus.connected ? 1 : 0);
          },
        }),
    );
    add(
      `${prefix}bus_events_total`,
      () =>
        new prom.Counter({
          name: `${prefix}bus_events_total`,
          help: 'Invalidation bus: messages sent, invalidations received, failed publishes (retried), queue overflows (folded into a clear), subscription gaps and L1 drops after them',
          labelNames: ['event'],
          registers: [registry],
          collect() {
            this.reset();
            const bus = engine.busStats();
            if (bus === undefined) return;
            this.inc({ event: 'sent' }, bus.sent);
            this.inc({ event: 'received' }, bus.received);
            this.inc({ event: 'publish_failure' }, bus.publishFailures);
            this.inc({ event: 'queue_overflow' }, bus.queueOverflows);
            this.inc({ event: 'gap' }, bus.gaps);
            this.inc({ event: 'l1_drop' }, bus.localDrops);
          },
        }),
    );
    add(
      `${prefix}bus_queued`,
      () =>
        new prom.Gauge({
          name: `${prefix}bus_queued`,
          help: 'Invalidation items waiting to be published on the bus',
          registers: [registry],
          collect() {
            this.set(engine.busStats()?.queued ?? 0);
          },
        }),
    );
  }
}

/** Milliseconds to seconds, rounded to the microsecond (no float noise such as 4.2999999e-5 in the exposition). */
function msToSeconds(ms: number): number {
  return Math.round(ms * 1000) / 1e6;
}
