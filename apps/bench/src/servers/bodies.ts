/** The small JSON constant every HTTP contender answers with (the same bytes for all). */
export const ITEM = Object.freeze({
  id: 1,
  name: 'Espresso cup',
  price: 4.5,
  currency: 'EUR',
  tags: ['kitchen', 'coffee'],
  stock: 42,
});

/** Simulated database latency of the uncached origin, in ms. */
export const ORIGIN_MS = 5;
/** Origin latency of the stampede route, in ms. */
export const STAMPEDE_ORIGIN_MS = 50;

/** Resolves after `ms` (the simulated database query). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
