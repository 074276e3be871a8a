import { Injectable, NotFoundException } from '@nestjs/common';
import { Cached, InvalidateCache } from 'nest-tiered-cache';
import { Database } from '../database/database.js';

/** One line of a user's order history. */
export interface OrderLine {
  id: number;
  productId: number;
  productName: string;
  quantity: number;
  totalCents: number;
  createdAt: string;
}

/** A user's latest orders. */
export interface UserOrders {
  userId: number;
  orders: OrderLine[];
}

/** A new order. */
export interface CreateOrderDto {
  userId: number;
  productId: number;
  quantity: number;
}

/** A stored order. */
export interface Order extends CreateOrderDto {
  id: number;
  createdAt: string;
}

/** Orders, with a service-level cache: the decorators work on provider methods as on routes. */
@Injectable()
export class OrdersService {
  constructor(private readonly db: Database) {}

  /**
   * The user's 50 latest orders, or null when there is no such user (null is not cached).
   * One query: the user's existence and the order lines together.
   */
  @Cached({ key: 'orders:user:{userId}', ttl: '2m' })
  async forUser(userId: number): Promise<UserOrders | null> {
    const [row] = await this.db.query<{ found: boolean; orders: OrderLine[] }>(
      `SELECT EXISTS (SELECT 1 FROM users WHERE id = $1) AS found,
              COALESCE((SELECT json_agg(line ORDER BY line."createdAt" DESC, line.id DESC) FROM (
                SELECT o.id, o.product_id AS "productId", p.name AS "productName", o.quantity,
                       o.quantity * p.price_cents AS "totalCents",
                       to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt"
                FROM orders o JOIN products p ON p.id = o.product_id
                WHERE o.user_id = $1
                ORDER BY o.created_at DESC, o.id DESC
                LIMIT 50) AS line), '[]'::json) AS orders`,
      [userId],
    );
    return row!.found ? { userId, orders: row!.orders } : null;
  }

  /** Places an order (one query); on success the user's cached order list is invalidated. */
  @InvalidateCache({ keys: ['orders:user:{dto.userId}'] })
  async create(dto: CreateOrderDto): Promise<Order> {
    const [order] = await this.db.query<Order>(
      `INSERT INTO orders (user_id, product_id, quantity)
       SELECT $1, $2, $3
       WHERE EXISTS (SELECT 1 FROM users WHERE id = $1) AND EXISTS (SELECT 1 FROM products WHERE id = $2)
       RETURNING id, user_id AS "userId", product_id AS "productId", quantity,
                 to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt"`,
      [dto.userId, dto.productId, dto.quantity],
    );
    if (order === undefined)
      throw new NotFoundException(`user ${dto.userId} or product ${dto.productId} not found`);
    return order;
  }
}
