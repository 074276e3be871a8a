import type * as TerminusModule from '@nestjs/terminus';
import { Inject, Injectable } from '@nestjs/common';
import { CACHE_ENGINE } from '../cache.constants.js';
import { CacheError, CacheErrorCode, toCacheError } from '../cache.errors.js';
import { MAX_TIMER_MS, parsePositiveDuration, type Duration } from '../core/duration.js';
import type { Tier } from '../core/tier.js';
import type { TieredCache } from '../core/tiered-cache.js';

/** What the health check reports of one tier. */
export interface TierHealth {
  backend: string;
  status: 'up' | 'down';
  /** Round trip of the probe, in ms (or how long it waited before giving up). */
  latencyMs: number;
  /** Whether this tier being down fails the check (`required: false` reports it degraded). */
  required: boolean;
  /** Entries held, where cheap to know. */
  entries?: number;
  /** The failure's code, when down. */
  error?: string;
  [detail: string]: unknown;
}

/** What the health check reports of the invalidation bus. */
export interface BusHealth {
  /** Down while unsubscribed (this instance's L1 may miss other instances' changes until it reconnects and drops L1). */
  status: 'up' | 'down';
  /** `tracking` (Redis tracking plus explicit messages) or `pubsub` (explicit messages only). */
  mode: 'tracking' | 'pubsub';
  sent: number;
  received: number;
  publishFailures: number;
  queued: number;
  gaps: number;
  /** L1 drops after gaps. */
  localDrops: number;
}

/** The statuses a cache health check reports (`'degraded'` with `@nestjs/terminus` 12 only). */
export type CacheHealthStatus = 'up' | 'down' | 'degraded';

/**
 * A terminus health indicator result: `{ [key]: { status, local?, shared?, bus? } }`. `S` is the
 * statuses it may hold: all three by default, `'up' | 'down'` where it is handed to a terminus
 * that has no `'degraded'` (11), which it never reports there.
 */
export type CacheHealthResult<K extends string, S extends CacheHealthStatus = CacheHealthStatus> = {
  [key in K]: {
    status: S;
    local?: TierHealth;
    shared?: TierHealth;
    bus?: BusHealth;
  };
};

/** Options of {@link CacheHealthIndicator.isHealthy}. */
export interface CacheHealthOptions {
  /** Deadline of each tier's probe. Default '1s'. */
  timeout?: Duration;
}

type Terminus = typeof TerminusModule;
let terminus: Promise<Terminus> | undefined;

function loadTerminus(): Promise<Terminus> {
  terminus ??= import('@nestjs/terminus').catch((err: unknown) => {
    terminus = undefined;
    throw new CacheError(
      CacheErrorCode.E_UNSUPPORTED,
      'CacheHealthIndicator needs @nestjs/terminus: npm install @nestjs/terminus',
      { cause: err },
    );
  });
  return terminus;
}

/**
 * A `@nestjs/terminus` health indicator for the cache. Every tier is probed at once under a
 * deadline: Redis with a real round trip (its connection state reported), the filesystem with a
 * write-read-delete, memory by its size. A required tier that is down makes the check `down`; a
 * tier configured `required: false` makes it `degraded` (HTTP 200), as does an invalidation bus
 * that is not connected. It never throws and never hangs, even when Redis is frozen.
 *
 * Works with `@nestjs/terminus` 11 and 12. Terminus 11 has no `degraded` status: there,
 * what would be degraded reports `up`, with the failing tier's or bus's `status: 'down'` in the
 * details (the check stays at HTTP 200, as `required: false` asks).
 */
@Injectable()
export class CacheHealthIndicator {
  /** @internal Built by `CacheModule`. */
  constructor(@Inject(CACHE_ENGINE) private readonly engine: TieredCache) {}

  /**
   * Probes every tier and reports under `key` (e.g. `'cache'`). `S` is inferred from where the
   * result goes (`HealthCheckService.check([...])` of terminus 11 takes `'up' | 'down'`), so the
   * same call compiles with terminus 11 and 12; leave it to the compiler.
   */
  async isHealthy<const K extends string, S extends CacheHealthStatus = CacheHealthStatus>(
    key: K,
    options?: CacheHealthOptions,
  ): Promise<CacheHealthResult<K, S>> {
    const { HealthIndicatorService } = await loadTerminus();
    const timeoutMs =
      options?.timeout === undefined
        ? 1_000
        : parsePositiveDuration(options.timeout, 'timeout', MAX_TIMER_MS);
    const [local, shared] = await Promise.all([
      probe(this.engine.local, timeoutMs),
      probe(this.engine.shared, timeoutMs),
    ]);
    const bus = busHealth(this.engine);
    const data = { ...(local && { local }), ...(shared && { shared }), ...(bus && { bus }) };
    const tiers = [local, shared].filter((tier): tier is TierHealth => tier !== undefined);
    const session = new HealthIndicatorService().check(key);
    let result: unknown;
    if (tiers.some((tier) => tier.status === 'down' && tier.required)) result = session.down(data);
    else if (tiers.some((tier) => tier.status === 'down') || bus?.status === 'down')
      // Terminus 11 has no degraded(): up, with the tier's or the bus's own status down.
      result = typeof session.degraded === 'function' ? session.degraded(data) : session.up(data);
    else result = session.up(data);
    return result as CacheHealthResult<K, S>;
  }
}

async function probe(tier: Tier | undefined, timeoutMs: number): Promise<TierHealth | undefined> {
  if (tier === undefined) return undefined;
  const backend = tier.backend;
  const started = performance.now();
  const common = {
    backend: backend.name,
    required: tier.config.required,
    ...(backend.size?.() !== undefined && { entries: backend.size() }),
  };
  try {
    const latencyMs = await tier.ping(timeoutMs);
    return { ...common, status: 'up', latencyMs: round(latencyMs), ...backend.details?.() };
  } catch (err) {
    const { code } = toCacheError(err, CacheErrorCode.E_BACKEND_ERROR, 'health probe');
    return {
      ...common,
      status: 'down',
      latencyMs: round(performance.now() - started),
      error: code,
      ...backend.details?.(),
    };
  }
}

function busHealth(engine: TieredCache): BusHealth | undefined {
  const stats = engine.busStats();
  if (stats === undefined) return undefined;
  const { connected, mode, sent, received, publishFailures, queued, gaps, localDrops } = stats;
  return {
    status: connected ? 'up' : 'down',
    mode,
    sent,
    received,
    publishFailures,
    queued,
    gaps,
    localDrops,
  };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
