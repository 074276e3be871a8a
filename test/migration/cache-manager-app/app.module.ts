import { Module } from '@nestjs/common';
import { CacheModule } from '@nestjs/cache-manager';
import { CampaignsController } from './campaigns.controller.js';
import { Catalogue } from './catalogue.js';
import { PricesService } from './prices.service.js';
import { ProductsController } from './products.controller.js';

/** A small application cached with @nestjs/cache-manager, as its documentation sets it up. */
@Module({
  imports: [CacheModule.register({ ttl: 5000, isGlobal: true })],
  controllers: [ProductsController, CampaignsController],
  providers: [Catalogue, PricesService],
})
export class AppModule {}
