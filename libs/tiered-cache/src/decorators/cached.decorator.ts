import { SetMetadata, UseInterceptors } from '@nestjs/common';
import { CACHED_METADATA } from '../cache.constants.js';
import { CacheInterceptor } from '../interceptors/cache.interceptor.js';
import type { CachedOptions } from '../interfaces/decorator-options.interface.js';
import { describeMethod, validateCachedOptions } from './validate-decorator-options.js';

/**
 * A method `@Cached` accepts: one that returns a Promise. A cached provider method answers with a
 * Promise whatever the original returned (the value may come from Redis), so a synchronous one
 * would get a type that lies; `async` makes the type say what callers get. Routes too (Nest awaits
 * them alike).
 */
export type AsyncMethod = (...args: never[]) => PromiseLike<unknown>;

/** The decorator `@Cached(...)` returns: for methods that return a Promise (see {@link AsyncMethod}). */
export type CachedMethodDecorator = <M extends AsyncMethod>(
  target: object,
  property: string | symbol,
  descriptor: TypedPropertyDescriptor<M>,
) => void;

/**
 * Caches what a controller route or a provider method returns; the method must return a Promise
 * (`async`), else it does not compile. On a route it binds the cache interceptor itself (no
 * global setup); on a provider method the module wraps the method at bootstrap. Options are
 * checked here and the key template at bootstrap, naming class and method.
 */
export function Cached(options: CachedOptions = {}): CachedMethodDecorator {
  return (target, property, descriptor) => {
    validateCachedOptions(options, `@Cached on ${describeMethod(target, property)}`);
    SetMetadata(CACHED_METADATA, options)(target, property, descriptor);
    UseInterceptors(CacheInterceptor)(target, property, descriptor);
  };
}
