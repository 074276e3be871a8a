import { Controller, Get, Injectable } from '@nestjs/common';
import { CacheService, InjectCache } from 'nest-tiered-cache';
import { Database } from '../database/database.js';

/** Store-wide settings, from the `settings` table. */
export interface StoreSettings {
  currency: string;
  taxRate: number;
  featuredCategory: string;
}

/** Reads the settings through the named `config` cache (`CacheModule.forFeature({ name: 'config' })`). */
@Injectable()
export class StoreSettingsService {
  constructor(
    private readonly db: Database,
    @InjectCache('config') private readonly cache: CacheService,
  ) {}

  /** The settings: one query on a miss, then served from the `config` cache for its 10 minutes. */
  get(): Promise<StoreSettings> {
    return this.cache.getOrSet('store', async () => {
      const rows = await this.db.query<{ key: string; value: string }>(
        'SELECT key, value FROM settings',
      );
      const settings = new Map(rows.map((row) => [row.key, row.value]));
      return {
        currency: settings.get('currency') ?? 'EUR',
        taxRate: Number(settings.get('tax_rate') ?? 0),
        featuredCategory: settings.get('featured_category') ?? '',
      };
    });
  }
}

/** `GET /config`. */
@Controller('config')
export class StoreConfigController {
  constructor(private readonly settings: StoreSettingsService) {}

  @Get()
  get(): Promise<StoreSettings> {
    return this.settings.get();
  }
}
