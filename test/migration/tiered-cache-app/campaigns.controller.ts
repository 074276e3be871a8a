import { Controller, Get, Injectable, Param, UseInterceptors } from '@nestjs/common';
import type { ExecutionContext } from '@nestjs/common';
import { CacheInterceptor } from 'nest-tiered-cache/compat';
import { Catalogue, type Product } from './catalogue.js';

/** One entry per campaign page, whatever its tracking query parameters. */
@Injectable()
export class CampaignCacheInterceptor extends CacheInterceptor {
  protected override trackBy(context: ExecutionContext): string | undefined {
    const request = context.switchToHttp().getRequest<{ method: string; url: string }>();
    return request.method === 'GET' ? `campaign:${request.url.split('?')[0]}` : undefined;
  }
}

@Controller('campaigns')
@UseInterceptors(CampaignCacheInterceptor)
export class CampaignsController {
  constructor(private readonly catalogue: Catalogue) {}

  @Get(':name')
  landing(@Param('name') name: string): { campaign: string; products: Product[] } {
    return this.catalogue.landing(name);
  }
}
