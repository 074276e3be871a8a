import { Injectable } from '@nestjs/common';
import { Database } from '../database/database.js';

/** A product of the demo catalogue. */
export interface Product {
  id: number;
  name: string;
  category: string;
  priceCents: number;
  popularity: number;
}

/** A page of products. */
export interface ProductPage {
  category: string | null;
  page: number;
  pageSize: number;
  items: Product[];
}

export const PAGE_SIZE = 20;
const COLUMNS = 'id, name, category, price_cents AS "priceCents", popularity';

/** The `products` table. Every method is exactly one query. */
@Injectable()
export class ProductsRepository {
  constructor(private readonly db: Database) {}

  async findOne(id: number): Promise<Product | undefined> {
    return (await this.db.query<Product>(`SELECT ${COLUMNS} FROM products WHERE id = $1`, [id]))[0];
  }

  /** Most popular first, `PAGE_SIZE` a page; `category` null means every category. */
  async findPage(category: string | null, page: number): Promise<ProductPage> {
    const items = await this.db.query<Product>(
      `SELECT ${COLUMNS} FROM products WHERE ($1::text IS NULL OR category = $1::text)
       ORDER BY popularity DESC, id LIMIT $2 OFFSET $3`,
      [category, PAGE_SIZE, (page - 1) * PAGE_SIZE],
    );
    return { category, page, pageSize: PAGE_SIZE, items };
  }

  /** The `limit` most popular products (the warm-up's list). */
  mostPopular(limit: number): Promise<Product[]> {
    return this.db.query<Product>(
      `SELECT ${COLUMNS} FROM products ORDER BY popularity DESC, id LIMIT $1`,
      [limit],
    );
  }

  /** Changes the given fields; undefined when there is no such product. */
  async update(
    id: number,
    changes: { name?: string; priceCents?: number },
  ): Promise<Product | undefined> {
    const rows = await this.db.query<Product>(
      `UPDATE products SET name = COALESCE($2, name), price_cents = COALESCE($3, price_cents)
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, changes.name ?? null, changes.priceCents ?? null],
    );
    return rows[0];
  }
}
