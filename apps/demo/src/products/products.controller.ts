import { Body, Controller, Get, NotFoundException, Param, ParseIntPipe, Put } from '@nestjs/common';
import { CacheService } from 'nest-tiered-cache';
import { ProductsRepository, type Product } from './products.repository.js';

/** Demo routes: a cached read by id and an update that invalidates it. */
@Controller('products')
export class ProductsController {
  constructor(
    private readonly cache: CacheService,
    private readonly products: ProductsRepository,
  ) {}

  /** Served from the cache; the "database" is queried only on a miss. */
  @Get(':id')
  async findOne(@Param('id', ParseIntPipe) id: number): Promise<Product> {
    const product = await this.cache.getOrSet(`product:${id}`, () => this.products.findOne(id), { ttl: '5m', tags: ['products'] });
    if (product === undefined) throw new NotFoundException(`product ${id} not found`);
    return product;
  }

  /** Writes through to the "database", then invalidates the cached copy. */
  @Put(':id')
  async update(@Param('id', ParseIntPipe) id: number, @Body() body: { name?: string; priceCents?: number }): Promise<Product> {
    const updated = await this.products.update(id, { name: body?.name, priceCents: body?.priceCents });
    if (updated === undefined) throw new NotFoundException(`product ${id} not found`);
    await this.cache.delete(`product:${id}`);
    return updated;
  }
}
