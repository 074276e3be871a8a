/**
 * The machine's monotonic clock (CLOCK_MONOTONIC), in ms with sub-millisecond precision: the same
 * in every process of the bench, so times taken in two processes can be subtracted. Not
 * `performance.timeOrigin + performance.now()`, which each process maps to the wall clock once,
 * when it starts: a wall clock adjusted in between puts processes milliseconds apart (seen in the
 * test suite's soaks).
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
