import { SetMetadata, UseInterceptors } from '@nestjs/common';
import { INVALIDATE_METADATA } from '../cache.constants.js';
import { CacheInterceptor } from '../interceptors/cache.interceptor.js';
import type { InvalidateCacheOptions } from '../interfaces/decorator-options.interface.js';
import { describeMethod, validateInvalidateOptions } from './validate-decorator-options.js';

/**
 * Removes keys, patterns and tags (all templates) from every tier after the route or method
 * succeeds; never when it throws. Substituted values are escaped, so `*` in a param deletes only
 * its own key.
 */
export function InvalidateCache(options: InvalidateCacheOptions): MethodDecorator {
  return (target, property, descriptor) => {
    validateInvalidateOptions(options, `@InvalidateCache on ${describeMethod(target, property)}`);
    SetMetadata(INVALIDATE_METADATA, options)(target, property, descriptor);
    UseInterceptors(CacheInterceptor)(target, property, descriptor);
  };
}
