import { SetMetadata, UseInterceptors } from '@nestjs/common';
import { CACHED_METADATA } from '../cache.constants.js';
import { CacheInterceptor } from '../interceptors/cache.interceptor.js';
import type { CachedOptions } from '../interfaces/decorator-options.interface.js';
import { describeMethod, validateCachedOptions } from './validate-decorator-options.js';

/**
 * Caches what a controller route or a provider method returns. On a route it binds the cache
 * interceptor itself (no global setup); on a provider method the module wraps the method at
 * bootstrap. Options are checked here and the key template at bootstrap, naming class and method.
 */
export function Cached(options: CachedOptions = {}): MethodDecorator {
  return (target, property, descriptor) => {
    validateCachedOptions(options, `@Cached on ${describeMethod(target, property)}`);
    SetMetadata(CACHED_METADATA, options)(target, property, descriptor);
    UseInterceptors(CacheInterceptor)(target, property, descriptor);
  };
}
