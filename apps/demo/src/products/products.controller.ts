import { Body, Controller, Get, NotFoundException, Param, ParseIntPipe, Put } from '@nestjs/common';
import { Cached, InvalidateCache } from 'nest-tiered-cache';
import { ProductsRepository, type Product } from './products.repository.js';

/** Demo routes: a read cached by id, and an update that invalidates it. */
@Controller('products')
export class ProductsController {
  constructor(private readonly products: ProductsRepository) {}

  /** Served from the cache (`X-Cache: HIT`); the "database" is queried only on a miss. */
  @Get(':id')
  @Cached({ key: 'product:{id}', ttl: '5m', tags: ['products'] })
  async findOne(@Param('id', ParseIntPipe) id: number): Promise<Product> {
    const product = await this.products.findOne(id);
    if (product === undefined) throw new NotFoundException(`product ${id} not found`);
    return product;
  }

  /** Writes through to the "database"; on success the cached product is invalidated. */
  @Put(':id')
  @InvalidateCache({ keys: ['product:{id}'] })
  async update(@Param('id', ParseIntPipe) id: number, @Body() body: { name?: string; priceCents?: number }): Promise<Product> {
    const updated = await this.products.update(id, { name: body?.name, priceCents: body?.priceCents });
    if (updated === undefined) throw new NotFoundException(`product ${id} not found`);
    return updated;
  }
}
