import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import { Cached, InvalidateCache } from 'nest-tiered-cache';
import { Catalogue, type Product } from './catalogue.js';

@Controller('products')
export class ProductsController {
  constructor(private readonly catalogue: Catalogue) {}

  @Get(':id')
  @Cached({ key: 'product:{id}', ttl: '1m' })
  async find(@Param('id') id: string): Promise<Product> {
    return this.catalogue.find(id);
  }

  @Post(':id/name')
  @InvalidateCache({ keys: ['product:{id}'] })
  rename(@Param('id') id: string, @Body() body: { name: string }): Product {
    this.catalogue.rename(id, body.name);
    return this.catalogue.find(id);
  }
}
