import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { CacheModule } from 'nest-tiered-cache';
import { Catalogue } from './catalogue.js';
import { HealthController } from './health.controller.js';
import { ProductsController } from './products.controller.js';

const redisUrl = process.env.REDIS_URL;
if (!redisUrl)
  throw new Error('REDIS_URL is not set (test/compat.e2e-spec.ts starts a redis-server)');

@Module({
  imports: [
    TerminusModule,
    CacheModule.forRoot({
      isGlobal: true,
      namespace: 'compat',
      local: { backend: 'memory' },
      shared: { backend: 'redis', url: redisUrl, required: false },
    }),
  ],
  controllers: [ProductsController, HealthController],
  providers: [Catalogue],
})
export class AppModule {}
