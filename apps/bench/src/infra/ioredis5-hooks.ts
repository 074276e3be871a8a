/**
 * A module resolve hook for the bench's library workers: bentocache 1.6 (and its bus) import
 * `ioredis` and need major 5, while this repository runs ioredis 6. npm installs ioredis 5 beside
 * it under the alias `ioredis5`; this hook sends bentocache's `ioredis` imports there, and only its.
 */
interface ResolveContext {
  parentURL?: string;
}
type NextResolve = (specifier: string, context: ResolveContext) => Promise<unknown>;

const USES_IOREDIS5 = ['/node_modules/bentocache/', '/node_modules/@boringnode/bus/'];

export async function resolve(
  specifier: string,
  context: ResolveContext,
  nextResolve: NextResolve,
): Promise<unknown> {
  const parent = context.parentURL ?? '';
  if (
    (specifier === 'ioredis' || specifier.startsWith('ioredis/')) &&
    USES_IOREDIS5.some((dir) => parent.includes(dir))
  ) {
    return nextResolve(`ioredis5${specifier.slice('ioredis'.length)}`, context);
  }
  return nextResolve(specifier, context);
}
