import {
  BadRequestException,
  Body,
  Controller,
  Get,
  NotFoundException,
  Param,
  ParseIntPipe,
  Post,
} from '@nestjs/common';
import {
  OrdersService,
  type CreateOrderDto,
  type Order,
  type UserOrders,
} from './orders.service.js';

/** A user's orders (cached in `OrdersService`, not on the route) and new orders. */
@Controller()
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Get('users/:id/orders')
  async forUser(@Param('id', ParseIntPipe) id: number): Promise<UserOrders> {
    const orders = await this.orders.forUser(id);
    if (orders === null) throw new NotFoundException(`user ${id} not found`);
    return orders;
  }

  /** `{ userId, productId, quantity }`; 201 with the order, 404 when the user or product does not exist. */
  @Post('orders')
  create(@Body() body: Partial<Record<keyof CreateOrderDto, unknown>> | undefined): Promise<Order> {
    const dto = { userId: body?.userId, productId: body?.productId, quantity: body?.quantity ?? 1 };
    for (const [field, value] of Object.entries(dto)) {
      if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 1_000_000) {
        throw new BadRequestException(`${field} must be an integer from 1 to 1000000`);
      }
    }
    return this.orders.create(dto as CreateOrderDto);
  }
}
