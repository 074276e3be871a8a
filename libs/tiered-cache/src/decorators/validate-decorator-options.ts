import { CacheError, CacheErrorCode } from '../cache.errors.js';
import {
  describeValue,
  MAX_TIMER_MS,
  parseDuration,
  parsePositiveDuration,
} from '../core/duration.js';
import type {
  CachedOptions,
  InvalidateCacheOptions,
} from '../interfaces/decorator-options.interface.js';
import { validateHttpCache } from '../http/http-cache.js';
import { parseTemplate } from '../keys/key-template.js';

const CACHED_KEYS = [
  'key',
  'ttl',
  'tags',
  'tier',
  'grace',
  'timeout',
  'hardTimeout',
  'atomic',
  'lease',
  'cacheNullish',
  'scope',
  'methods',
  'cache',
  'httpCache',
];
const INVALIDATE_KEYS = ['keys', 'patterns', 'tags', 'cache'];
const HTTP_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'SEARCH',
  'PROPFIND',
  'REPORT',
]);

function fail(where: string, option: string, reason: string): CacheError {
  return new CacheError(
    CacheErrorCode.E_INVALID_OPTION,
    `${where}: invalid option "${option}": ${reason}`,
  );
}

function checkKeys(options: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key))
      throw fail(where, key, `unknown option; known options are ${known.join(', ')}`);
  }
}

function checkTemplates(list: unknown, option: string, where: string): void {
  if (list === undefined) return;
  if (!Array.isArray(list)) throw fail(where, option, 'must be an array of strings');
  for (const template of list) parseTemplate(template as string, `${where} ${option}`);
}

/**
 * Checks `@Cached` options where the decorator is applied (class definition time), naming the
 * class and method. Placeholders are checked against the route or method later, at bootstrap.
 */
export function validateCachedOptions(options: CachedOptions, where: string): void {
  if (typeof options !== 'object' || options === null)
    throw fail(where, 'options', 'must be an object');
  checkKeys(options, CACHED_KEYS, where);
  if (options.key !== undefined) parseTemplate(options.key, `${where} key`);
  checkTemplates(options.tags, 'tags', where);
  if (options.ttl !== undefined) parsePositiveDuration(options.ttl, `${where} ttl`);
  if (options.grace !== undefined) parseDuration(options.grace, `${where} grace`);
  if (options.timeout !== undefined)
    parsePositiveDuration(options.timeout, `${where} timeout`, MAX_TIMER_MS);
  if (options.hardTimeout !== undefined)
    parsePositiveDuration(options.hardTimeout, `${where} hardTimeout`, MAX_TIMER_MS);
  if (options.lease !== undefined) parsePositiveDuration(options.lease, `${where} lease`);
  if (options.tier !== undefined && !['local', 'shared', 'both'].includes(options.tier)) {
    throw fail(where, 'tier', `${describeValue(options.tier)} must be 'local', 'shared' or 'both'`);
  }
  if (
    options.atomic !== undefined &&
    options.atomic !== 'at-most-once' &&
    options.atomic !== 'at-least-once'
  ) {
    throw fail(
      where,
      'atomic',
      `${describeValue(options.atomic)} must be 'at-most-once' or 'at-least-once'`,
    );
  }
  if (options.scope !== undefined && options.scope !== 'public')
    throw fail(where, 'scope', "the only scope is 'public'");
  if (options.cacheNullish !== undefined && typeof options.cacheNullish !== 'boolean')
    throw fail(where, 'cacheNullish', 'must be a boolean');
  if (options.cache !== undefined && (typeof options.cache !== 'string' || options.cache === ''))
    throw fail(where, 'cache', 'must name a forFeature cache');
  validateHttpCache(options.httpCache, where);
  if (options.methods !== undefined) {
    if (!Array.isArray(options.methods) || options.methods.length === 0)
      throw fail(where, 'methods', 'must be a non-empty array of HTTP methods');
    for (const method of options.methods) {
      if (typeof method !== 'string' || !HTTP_METHODS.has(method.toUpperCase()))
        throw fail(where, 'methods', `${describeValue(method)} is not an HTTP method`);
    }
  }
}

/** Checks `@InvalidateCache` options where the decorator is applied, naming the class and method. */
export function validateInvalidateOptions(options: InvalidateCacheOptions, where: string): void {
  if (typeof options !== 'object' || options === null)
    throw fail(where, 'options', 'must be an object');
  checkKeys(options, INVALIDATE_KEYS, where);
  checkTemplates(options.keys, 'keys', where);
  checkTemplates(options.patterns, 'patterns', where);
  checkTemplates(options.tags, 'tags', where);
  if (
    (options.keys?.length ?? 0) + (options.patterns?.length ?? 0) + (options.tags?.length ?? 0) ===
    0
  ) {
    throw fail(where, 'keys', 'give at least one of keys, patterns or tags');
  }
  if (options.cache !== undefined && (typeof options.cache !== 'string' || options.cache === ''))
    throw fail(where, 'cache', 'must name a forFeature cache');
}

/** `Class.method` of a decorated method, for messages. */
export function describeMethod(target: object, property: string | symbol): string {
  const owner = typeof target === 'function' ? target : target.constructor;
  return `${(owner as { name?: string }).name ?? 'anonymous'}.${String(property)}`;
}
