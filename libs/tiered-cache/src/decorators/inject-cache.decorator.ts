import { Inject } from '@nestjs/common';
import { getCacheToken } from '../cache.constants.js';
import { CacheService } from '../cache.service.js';

/**
 * Injects a `CacheService`: the named cache registered with `CacheModule.forFeature({ name })`,
 * or the root cache when no name is given.
 */
export function InjectCache(name?: string): PropertyDecorator & ParameterDecorator {
  return Inject(name === undefined ? CacheService : getCacheToken(name));
}
