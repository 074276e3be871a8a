import { Injectable } from '@nestjs/common';
import { Cached } from 'nest-tiered-cache';

export interface Product {
  id: string;
  name: string;
}

/** The origin: an in-memory product list that counts its reads. */
@Injectable()
export class Catalogue {
  private readonly names = new Map([
    ['1', 'Lamp'],
    ['2', 'Desk'],
  ]);
  readonly reads = new Map<string, number>();
  priceComputations = 0;

  find(id: string): Product {
    this.reads.set(id, (this.reads.get(id) ?? 0) + 1);
    return { id, name: this.names.get(id) ?? 'unknown' };
  }

  rename(id: string, name: string): void {
    this.names.set(id, name);
  }

  /** A cached provider method (not a route). */
  @Cached({ key: 'price:{id}', ttl: '1m' })
  async price(id: string): Promise<number> {
    this.priceComputations++;
    return Number(id) * 10;
  }
}
