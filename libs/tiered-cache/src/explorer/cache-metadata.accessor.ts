import { Injectable, type Type } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum.js';
import { Reflector } from '@nestjs/core';
import { CACHED_METADATA, INVALIDATE_METADATA } from '../cache.constants.js';
import type {
  CachedOptions,
  InvalidateCacheOptions,
} from '../interfaces/decorator-options.interface.js';

/**
 * Reads what the decorators left on a method, through Nest's `Reflector`: the explorer and the
 * interceptor ask this accessor, never `Reflect.getMetadata` directly.
 */
@Injectable()
export class CacheMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  /** The `@Cached` options of a method, if it has them. */
  cached(method: Function): CachedOptions | undefined {
    return this.reflector.get<CachedOptions | undefined>(CACHED_METADATA, method);
  }

  /** The `@InvalidateCache` options of a method, if it has them. */
  invalidate(method: Function): InvalidateCacheOptions | undefined {
    return this.reflector.get<InvalidateCacheOptions | undefined>(INVALIDATE_METADATA, method);
  }

  /** Whether a method carries either decorator. */
  isDecorated(method: Function): boolean {
    return this.cached(method) !== undefined || this.invalidate(method) !== undefined;
  }

  /**
   * Whether a route handler takes `@Res()` or `@Next()` (it then sends its own response). Nest
   * keeps route arguments on the controller class under the method's name, a place `Reflector`
   * does not read, hence the one direct `Reflect.getMetadata` here.
   */
  usesResponseObject(controller: Type, method: string): boolean {
    const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, method) ?? {}) as Record<
      string,
      unknown
    >;
    return Object.keys(args).some(
      (key) =>
        key.startsWith(`${RouteParamtypes.RESPONSE}:`) ||
        key.startsWith(`${RouteParamtypes.NEXT}:`),
    );
  }
}
