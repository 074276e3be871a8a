import { Body, Controller, Get, Param, Post, Query, UseInterceptors } from '@nestjs/common';
import { CacheInterceptor, CacheKey, CacheTTL } from 'nest-tiered-cache/compat';
import { Catalogue, type Product } from './catalogue.js';
import { PricesService } from './prices.service.js';

/** Every GET route is cached under its URL, for the module's TTL. */
@Controller('products')
@UseInterceptors(CacheInterceptor)
export class ProductsController {
  constructor(
    private readonly catalogue: Catalogue,
    private readonly prices: PricesService,
  ) {}

  @Get()
  list(@Query('page') page = '1'): Product[] {
    return this.catalogue.page(Number(page));
  }

  @Get('featured')
  @CacheKey('featured-products')
  @CacheTTL(1000)
  featured(): Product[] {
    return this.catalogue.featured();
  }

  @Get(':id')
  find(@Param('id') id: string): Product {
    return this.catalogue.find(id);
  }

  @Post(':id/name')
  async rename(@Param('id') id: string, @Body() body: { name: string }): Promise<Product> {
    const product = this.catalogue.rename(id, body.name);
    await this.prices.forget(`/products/${id}`);
    return product;
  }
}
