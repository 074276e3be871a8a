import { Inject } from '@nestjs/common';
import { getCacheToken } from '../cache.constants.js';
import { CacheService } from '../cache.service.js';
import { requestCacheName } from '../cache-names.js';

/**
 * Injects a `CacheService`: the named cache registered with `CacheModule.forFeature({ name })`,
 * or the root cache when no name is given.
 */
export function InjectCache(name?: string): PropertyDecorator & ParameterDecorator {
  if (name === undefined) return Inject(CacheService);
  requestCacheName(name);
  return Inject(getCacheToken(name));
}
