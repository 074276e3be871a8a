import { Inject, Injectable } from '@nestjs/common';
import { CACHE_MANAGER, Cache } from 'nest-tiered-cache/compat';

/** A service using the cache manager directly. */
@Injectable()
export class PricesService {
  computations = 0;

  constructor(@Inject(CACHE_MANAGER) private readonly cache: Cache) {}

  /** A price computed once a minute at most. */
  price(id: string): Promise<number> {
    return this.cache.wrap(
      `price:${id}`,
      async () => {
        this.computations++;
        return Number(id) * 100;
      },
      60_000,
    );
  }

  setRate(currency: string, rate: number): Promise<number> {
    return this.cache.set(`rate:${currency}`, rate);
  }

  rate(currency: string): Promise<number | undefined> {
    return this.cache.get<number>(`rate:${currency}`);
  }

  rates(currencies: string[]): Promise<Array<number | undefined>> {
    return this.cache.mget<number>(currencies.map((currency) => `rate:${currency}`));
  }

  expiry(currency: string): Promise<number | undefined> {
    return this.cache.ttl(`rate:${currency}`);
  }

  dropRates(currencies: string[]): Promise<boolean> {
    return this.cache.mdel(currencies.map((currency) => `rate:${currency}`));
  }

  /** Forgets one key (a route's URL, or a rate). */
  forget(key: string): Promise<boolean> {
    return this.cache.del(key);
  }

  clearAll(): Promise<boolean> {
    return this.cache.clear();
  }
}
