import {
  BadRequestException,
  Body,
  Controller,
  Get,
  NotFoundException,
  Param,
  ParseIntPipe,
  Put,
  Query,
} from '@nestjs/common';
import { CacheService, Cached, InvalidateCache } from 'nest-tiered-cache';
import { CATEGORIES } from '../database/seed.js';
import { ProductsRepository, type Product, type ProductPage } from './products.repository.js';

/** The catalogue: products by id and by category page, and updates that invalidate them. */
@Controller('products')
export class ProductsController {
  constructor(
    private readonly products: ProductsRepository,
    private readonly cache: CacheService,
  ) {}

  /** `X-Cache: HIT` from the cache, or `MISS` and one query. A 404 is never cached. */
  @Get(':id')
  @Cached({ key: 'product:{id:int}', ttl: '5m', tags: ['products'] })
  async findOne(@Param('id', ParseIntPipe) id: number): Promise<Product> {
    const product = await this.products.findOne(id);
    if (product === undefined) throw new NotFoundException(`product ${id} not found`);
    return product;
  }

  /**
   * `?category=kitchen&page=2`: 20 products a page, most popular first. Tagged by category
   * (`product-pages:kitchen`; without `?category`, `product-pages:`) so that an update
   * invalidates only the pages it can appear on.
   */
  @Get()
  @Cached({
    key: 'products:{query.category}:{query.page}',
    ttl: '1m',
    tags: ['products', 'product-pages:{query.category}'],
  })
  findPage(
    @Query('category') category?: string,
    @Query('page') page?: string,
  ): Promise<ProductPage> {
    if (category !== undefined && !(CATEGORIES as readonly string[]).includes(category)) {
      throw new BadRequestException(
        `unknown category ${JSON.stringify(category)}; one of ${CATEGORIES.join(', ')}`,
      );
    }
    const pageNumber = page === undefined ? 1 : Number(page);
    if (!Number.isInteger(pageNumber) || pageNumber < 1 || pageNumber > 1000)
      throw new BadRequestException('page must be an integer from 1 to 1000');
    return this.products.findPage(category ?? null, pageNumber);
  }

  /**
   * Renames and/or reprices. On success the decorator invalidates the product, and the handler the
   * pages it appears on: its category's and the all-categories list (the category is known only
   * once the row is read, so that part is done through `CacheService`).
   */
  @Put(':id')
  @InvalidateCache({ keys: ['product:{id:int}'] })
  async update(
    @Param('id', ParseIntPipe) id: number,
    @Body() body: { name?: unknown; priceCents?: unknown },
  ): Promise<Product> {
    const name = body?.name;
    const priceCents = body?.priceCents;
    if (
      name !== undefined &&
      (typeof name !== 'string' || name.trim() === '' || name.length > 200)
    ) {
      throw new BadRequestException('name must be a non-empty string of at most 200 characters');
    }
    if (
      priceCents !== undefined &&
      (!Number.isInteger(priceCents) ||
        (priceCents as number) < 0 ||
        (priceCents as number) > 100_000_000)
    ) {
      throw new BadRequestException('priceCents must be an integer from 0 to 100000000');
    }
    if (name === undefined && priceCents === undefined)
      throw new BadRequestException('give name and/or priceCents');
    const updated = await this.products.update(id, {
      name: name as string | undefined,
      priceCents: priceCents as number | undefined,
    });
    if (updated === undefined) throw new NotFoundException(`product ${id} not found`);
    await this.cache.deleteByTag(`product-pages:${updated.category}`, 'product-pages:');
    return updated;
  }
}
