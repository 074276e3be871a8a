/** The small JSON constant every HTTP contender answers with (the same bytes for all). */
export const ITEM = Object.freeze({
  id: 1,
  name: 'Espresso cup',
  price: 4.5,
  currency: 'EUR',
  tags: ['kitchen', 'coffee'],
  stock: 42,
});

/**
 * A ~4 KB JSON constant (a product page: the item, its variants and reviews), for the scenario
 * where serializing the body is a real part of a request's cost.
 */
export const BIG_ITEM = Object.freeze({
  ...ITEM,
  description:
    'A 90 ml porcelain espresso cup with a thick wall that keeps the coffee hot, dishwasher safe.',
  variants: Array.from({ length: 12 }, (_, i) => ({
    sku: `CUP-${1000 + i}`,
    colour: ['white', 'black', 'red', 'blue'][i % 4],
    size: ['60 ml', '90 ml', '120 ml'][i % 3],
    price: 4.5 + i * 0.25,
    stock: 40 - i,
    available: i % 5 !== 0,
  })),
  reviews: Array.from({ length: 10 }, (_, i) => ({
    id: 500 + i,
    author: `customer-${i}`,
    rating: 1 + (i % 5),
    title: `Review number ${i}`,
    text: 'Sturdy, keeps the espresso warm, and the handle is comfortable for small hands too.',
    createdAt: `2026-0${1 + (i % 9)}-1${i % 10}T10:00:00.000Z`,
  })),
});

/** Simulated database latency of the uncached origin, in ms. */
export const ORIGIN_MS = 5;
/** Origin latency of the stampede route, in ms. */
export const STAMPEDE_ORIGIN_MS = 50;

/** Resolves after `ms` (the simulated database query). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
