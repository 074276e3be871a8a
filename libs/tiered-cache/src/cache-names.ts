import { Scope, type DynamicModule, type Provider } from '@nestjs/common';
import { INQUIRER } from '@nestjs/core';
import { getCacheToken } from './cache.constants.js';
import { CacheError, CacheErrorCode } from './cache.errors.js';

/**
 * The names of named caches, seen in this process: those `@InjectCache(name)` asks for and those
 * `CacheModule.forFeature` registers. They exist so that a name nobody registers (a typo) fails
 * bootstrap with the registered names listed, instead of Nest's "can't resolve Symbol(...)".
 */
const requested = new Set<string>();
const registered = new Set<string>();

/** Notes a name `@InjectCache` asks for. */
export function requestCacheName(name: string): void {
  requested.add(name);
}

/** Notes a name `forFeature` registers. */
export function registerCacheName(name: string): void {
  registered.add(name);
}

/** The registered names, quoted, for messages. */
export function registeredCacheNames(): string {
  return registered.size === 0
    ? 'none (CacheModule.forFeature registers named caches)'
    : [...registered].map((name) => JSON.stringify(name)).join(', ');
}

/**
 * The root module's definition plus, for every name asked for but registered nowhere, a stand-in
 * provider that fails with a clear message when something injects it. The stand-ins are listed
 * when Nest reads the module (at bootstrap, once every decorator and `forFeature` has run), and
 * are transient: they are built only for a class that injects them, which they then name. A
 * registered cache always wins, since Nest looks in a module's imports before global modules.
 */
export function withUnknownCacheStandIns(definition: DynamicModule): DynamicModule {
  const providers = definition.providers ?? [];
  const exports = definition.exports ?? [];
  const unknown = () => [...requested].filter((name) => !registered.has(name));
  return Object.defineProperties(
    { ...definition },
    {
      providers: {
        enumerable: true,
        get: (): Provider[] => [...providers, ...unknown().map(standIn)],
      },
      exports: {
        enumerable: true,
        get: () => [...exports, ...unknown().map(getCacheToken)],
      },
    },
  );
}

function standIn(name: string): Provider {
  return {
    provide: getCacheToken(name),
    scope: Scope.TRANSIENT,
    inject: [INQUIRER],
    useFactory: (inquirer: unknown) => {
      const owner = (inquirer as { constructor?: { name?: string } } | undefined)?.constructor
        ?.name;
      throw new CacheError(
        CacheErrorCode.E_INVALID_OPTION,
        `${owner ?? 'a provider'}: @InjectCache('${name}'): no cache is named "${name}"; registered: ${registeredCacheNames()}. Fix the name, or add CacheModule.forFeature({ name: '${name}' }) to the module's imports`,
      );
    },
  };
}
