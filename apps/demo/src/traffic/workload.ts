import { CATEGORIES, PRODUCT_COUNT, USER_COUNT, productIdsByPopularity } from '../database/seed.js';
import { mulberry32, randomInt, zipf } from '../random.js';

/** One request of the workload. */
export interface PlannedRequest {
  kind: 'product' | 'product-page' | 'user-orders' | 'update-product' | 'create-order';
  method: 'GET' | 'PUT' | 'POST';
  path: string;
  /** JSON body of PUT and POST. */
  body?: string;
}

/** Exponent of the Zipf distributions: rank k is picked with probability ∝ 1 / k^1.1. */
export const ZIPF_EXPONENT = 1.1;
/** Pages of a category the workload reads (a category holds about 100 products, 20 a page). */
const PAGES = 5;

/** The share of each kind of request, in the order they are drawn. */
export const MIX: ReadonlyArray<readonly [PlannedRequest['kind'], number]> = [
  ['product', 0.72],
  ['product-page', 0.15],
  ['user-orders', 0.11],
  ['update-product', 0.01],
  ['create-order', 0.01],
];

/**
 * A deterministic, skewed workload of `count` requests: the same `seed` gives the same list, so
 * the cached and the uncached instance answer exactly the same requests. Products are picked by
 * Zipf rank over their seeded popularity (rank 1 is the most popular product, which the demo's
 * warm-up loads), users, categories and pages by Zipf rank too.
 */
export function planWorkload(count: number, seed = 1): PlannedRequest[] {
  const random = mulberry32(seed);
  const productsByRank = productIdsByPopularity();
  const productRank = zipf(PRODUCT_COUNT, ZIPF_EXPONENT);
  const userRank = zipf(USER_COUNT, ZIPF_EXPONENT);
  const categoryRank = zipf(CATEGORIES.length, ZIPF_EXPONENT);
  const pageRank = zipf(PAGES, ZIPF_EXPONENT);
  const product = () => productsByRank[productRank(random) - 1]!;
  const plan: PlannedRequest[] = [];
  for (let i = 0; i < count; i++) {
    let draw = random();
    let kind: PlannedRequest['kind'] = MIX[MIX.length - 1]![0];
    for (const [candidate, share] of MIX) {
      if (draw < share) {
        kind = candidate;
        break;
      }
      draw -= share;
    }
    switch (kind) {
      case 'product':
        plan.push({ kind, method: 'GET', path: `/products/${product()}` });
        break;
      case 'product-page':
        plan.push({
          kind,
          method: 'GET',
          path: `/products?category=${CATEGORIES[categoryRank(random) - 1]}&page=${pageRank(random)}`,
        });
        break;
      case 'user-orders':
        plan.push({ kind, method: 'GET', path: `/users/${userRank(random)}/orders` });
        break;
      case 'update-product':
        plan.push({
          kind,
          method: 'PUT',
          path: `/products/${product()}`,
          body: JSON.stringify({ priceCents: randomInt(random, 2, 200) * 100 - 1 }),
        });
        break;
      case 'create-order':
        plan.push({
          kind,
          method: 'POST',
          path: '/orders',
          body: JSON.stringify({
            userId: userRank(random),
            productId: product(),
            quantity: randomInt(random, 1, 3),
          }),
        });
        break;
    }
  }
  return plan;
}
