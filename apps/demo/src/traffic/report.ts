/** The measurements of one run against one instance. */
export interface RunResult {
  label: string;
  requests: number;
  errors: number;
  /** Cache hits / reads during the run (from the instance's /cache/stats), or undefined with no reads. */
  hitRate: number | undefined;
  databaseQueries: number;
  p50Ms: number;
  p99Ms: number;
  requestsPerSecond: number;
}

/** The value at quantile `q` (0..1) of ascending `sorted`, nearest rank. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

const COLUMNS: ReadonlyArray<[string, (r: RunResult) => string]> = [
  ['', (r) => r.label],
  ['requests', (r) => String(r.requests)],
  ['errors', (r) => String(r.errors)],
  ['hit rate', (r) => (r.hitRate === undefined ? '-' : `${(r.hitRate * 100).toFixed(1)}%`)],
  ['db queries', (r) => String(r.databaseQueries)],
  ['queries/req', (r) => (r.requests === 0 ? '-' : (r.databaseQueries / r.requests).toFixed(3))],
  ['p50 ms', (r) => r.p50Ms.toFixed(2)],
  ['p99 ms', (r) => r.p99Ms.toFixed(2)],
  ['req/s', (r) => r.requestsPerSecond.toFixed(0)],
];

/** A plain-text table, one row per run (first column left-aligned, the others right-aligned). */
export function formatTable(results: readonly RunResult[]): string {
  const rows = [
    COLUMNS.map(([title]) => title),
    ...results.map((r) => COLUMNS.map(([, cell]) => cell(r))),
  ];
  const widths = COLUMNS.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ');
  return [
    line(rows[0]!),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.slice(1).map(line),
  ].join('\n');
}

/** The comparison line: database load reduction and p50 speed-up of `on` over `off`. */
export function formatComparison(on: RunResult, off: RunResult): string {
  const reduction = off.databaseQueries === 0 ? 0 : 1 - on.databaseQueries / off.databaseQueries;
  const speedup = on.p50Ms === 0 ? Infinity : off.p50Ms / on.p50Ms;
  return (
    `database load reduction: ${(reduction * 100).toFixed(1)}% (${off.databaseQueries} → ${on.databaseQueries} queries); ` +
    `p50 speed-up: ${speedup.toFixed(2)}x (${off.p50Ms.toFixed(2)} ms → ${on.p50Ms.toFixed(2)} ms)`
  );
}
