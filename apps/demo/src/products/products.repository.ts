import { Injectable } from '@nestjs/common';

/** A product of the demo catalogue. */
export interface Product {
  id: number;
  name: string;
  priceCents: number;
  updatedAt: string;
}

/**
 * The demo's stand-in for a database: an in-memory table whose every query takes a few
 * milliseconds and is counted, so the effect of the cache is visible in `/cache/stats`.
 */
@Injectable()
export class ProductsRepository {
  /** Queries issued since start. */
  queries = 0;
  private readonly rows = new Map<number, Product>();

  constructor() {
    for (let id = 1; id <= 100; id++) {
      this.rows.set(id, { id, name: `Product ${id}`, priceCents: 100 * id + 99, updatedAt: new Date(0).toISOString() });
    }
  }

  /** One row by id, after a simulated 5 ms query. */
  async findOne(id: number): Promise<Product | undefined> {
    await this.query();
    const row = this.rows.get(id);
    return row === undefined ? undefined : { ...row };
  }

  /** Updates a row's fields, after a simulated 5 ms query. */
  async update(id: number, changes: Partial<Pick<Product, 'name' | 'priceCents'>>): Promise<Product | undefined> {
    await this.query();
    const row = this.rows.get(id);
    if (row === undefined) return undefined;
    const updated = { ...row, updatedAt: new Date().toISOString() };
    if (changes.name !== undefined) updated.name = changes.name;
    if (changes.priceCents !== undefined) updated.priceCents = changes.priceCents;
    this.rows.set(id, updated);
    return { ...updated };
  }

  private query(): Promise<void> {
    this.queries++;
    return new Promise((resolve) => setTimeout(resolve, 5));
  }
}
