import { Body, Controller, Get, Module, Param, Put } from '@nestjs/common';
import { CacheModule, Cached, InvalidateCache } from 'nest-tiered-cache';

const products = new Map([['1', { id: '1', name: 'Lamp' }]]);

@Controller('products')
export class ProductsController {
  @Get(':id')
  @Cached({ key: 'product:{id}', ttl: '5m' })
  async findOne(@Param('id') id: string) {
    return products.get(id);
  }

  @Put(':id')
  @InvalidateCache({ keys: ['product:{id}'] })
  update(@Param('id') id: string, @Body() body: { name: string }) {
    products.set(id, { id, name: body.name });
    return products.get(id);
  }
}

@Module({
  imports: [
    CacheModule.forRoot({
      namespace: 'shop:v1', // prefix of every key
      local: { backend: 'memory', maxEntries: 10_000 }, // L1, in this process
      shared: { backend: 'redis', url: process.env.REDIS_URL ?? 'redis://localhost:6379' }, // L2
    }),
  ],
  controllers: [ProductsController],
})
export class AppModule {}
