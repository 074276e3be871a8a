import type { LatencyPercentiles } from '../interfaces/cache-service.interface.js';

const SIZE = 1024;

/**
 * The last 1024 durations of one operation, in a preallocated ring: recording is a store into a
 * typed array (no allocation on the hot path); percentiles are computed only when asked for.
 */
export class LatencyReservoir {
  private readonly ring = new Float64Array(SIZE);
  private count = 0;

  /** Records one duration in ms. */
  record(ms: number): void {
    this.ring[this.count++ & (SIZE - 1)] = ms;
  }

  /** Percentiles of the recorded durations, or undefined before the first one. */
  percentiles(): LatencyPercentiles | undefined {
    const n = Math.min(this.count, SIZE);
    if (n === 0) return undefined;
    const sorted = this.ring.slice(0, n).sort();
    const at = (q: number) => round(sorted[Math.min(n - 1, Math.floor(q * n))]!);
    return { p50: at(0.5), p90: at(0.9), p99: at(0.99), samples: n };
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
