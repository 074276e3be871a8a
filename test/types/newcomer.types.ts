/**
 * Type-level tests, checked by `npm run typecheck` (which `npm test` runs first): every
 * `@ts-expect-error` below must meet an error, or the type check fails. Nothing here runs.
 */
import { Controller, Get, Injectable, Param } from '@nestjs/common';
import { Observable, of } from 'rxjs';
import {
  CacheModule,
  Cached,
  duration,
  type CacheModuleOptions,
  type Duration,
} from 'nest-tiered-cache';

// `@Cached` on a method that does not return a Promise does not compile: the cached method
// answers with a Promise whatever the original returns.
@Injectable()
export class Prices {
  // @ts-expect-error a synchronous provider method
  @Cached({ key: 'price:{id}' })
  price(id: string): number {
    return Number(id);
  }

  // @ts-expect-error an Observable is not a Promise either
  @Cached()
  stream(): Observable<number> {
    return of(1);
  }

  @Cached({ key: 'price2:{id}' })
  async price2(id: string): Promise<number> {
    return Number(id);
  }

  @Cached()
  promised(): Promise<number> {
    return Promise.resolve(1);
  }
}

@Controller('products')
export class Products {
  @Get(':id')
  // @ts-expect-error routes too
  @Cached({ key: 'product:{id}' })
  find(@Param('id') id: string): { id: string } {
    return { id };
  }

  @Get(':id/async')
  @Cached({ key: 'product:{id}:async' })
  async findAsync(@Param('id') id: string): Promise<{ id: string }> {
    return { id };
  }
}

// A Duration literal with an unknown unit does not compile; known ones do, up to three parts.
export const durations: Duration[] = ['250ms', '30s', '5m', '1h30m', '1d12h30m', '1.5h', 0.5, 30];
// @ts-expect-error minutes are 'm'
export const fiveMin: Duration = '5min';
// @ts-expect-error a year is no unit
export const aYear: Duration = '1y';
// @ts-expect-error a string must name its unit
export const bare: Duration = '5';

// A duration from configuration is a plain string: `duration()` types it (checked at bootstrap).
declare const fromEnv: string | undefined;
declare const fromConfig: string;
// @ts-expect-error a plain string is not a Duration
export const untyped: CacheModuleOptions = { ttl: fromConfig };
export const typed: CacheModuleOptions = { ttl: duration(fromConfig), grace: duration(fromEnv) };
export const seconds: Duration = duration(30);

// Module options can be typed on their own, isGlobal included, and handed to forRoot.
export const options: CacheModuleOptions = { isGlobal: true, namespace: 'shop:v1', ttl: '5m' };
export const root = CacheModule.forRoot(options);
