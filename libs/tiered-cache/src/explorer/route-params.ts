import { MODULE_PATH, PATH_METADATA, VERSION_METADATA } from '@nestjs/common/constants.js';

const PARAM = /[:*](\w+)/g;

function paths(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((p): p is string => typeof p === 'string') : [];
}

/**
 * The route parameter names of a controller method: from the controller's and the method's paths
 * (`:id`, `*path`), and from a `RouterModule` path of its module.
 */
export function routeParamNames(
  controller: Function,
  handler: Function,
  moduleClass: Function | undefined,
): string[] {
  const sources = [
    ...paths(Reflect.getMetadata(PATH_METADATA, controller)),
    ...paths(Reflect.getMetadata(PATH_METADATA, handler)),
  ];
  if (moduleClass !== undefined) {
    for (const key of Reflect.getMetadataKeys(moduleClass)) {
      if (typeof key === 'string' && key.startsWith(MODULE_PATH))
        sources.push(...paths(Reflect.getMetadata(key, moduleClass)));
    }
  }
  const names = new Set<string>();
  for (const path of sources) for (const [, name] of path.matchAll(PARAM)) names.add(name!);
  return [...names];
}

/**
 * The version(s) a route answers for (`@Version`, or the controller's `version`), as text
 * (`'2'`, `'1,2'`, `'neutral'`); undefined for a route without one. Routes of different versions
 * may share a path (header or media-type versioning), so their default keys must tell them apart.
 */
export function routeVersion(controller: Function, handler: Function): string | undefined {
  const version: unknown =
    Reflect.getMetadata(VERSION_METADATA, handler) ??
    Reflect.getMetadata(VERSION_METADATA, controller);
  if (version === undefined) return undefined;
  const text = (v: unknown) => (typeof v === 'symbol' ? 'neutral' : String(v));
  return Array.isArray(version) ? version.map(text).join(',') : text(version);
}
