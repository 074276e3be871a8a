import { CacheError, CacheErrorCode } from '../cache.errors.js';
import { encodeKeyPart } from './key-encoding.js';

/** A placeholder of a template: `{query.page}` is `{ raw: 'query.page', path: ['query', 'page'] }`. */
export interface Placeholder {
  readonly raw: string;
  readonly path: readonly string[];
}

/** Reads a placeholder's value from a context (a request, or a method's arguments). */
export type Getter<C> = (context: C) => unknown;

/** A compiled template: context in, key (or pattern, or tag) out, or undefined when it cannot be keyed. */
export type TemplateResolver<C> = (context: C) => string | undefined;

const NAME = /^[\w$-]+(?:\.[\w$-]+)*$/;

/**
 * Splits a template into literal text and placeholders. `{{` and `}}` stand for literal braces.
 * Throws `E_INVALID_TEMPLATE` (naming `where`) on an unclosed, empty or malformed placeholder.
 */
export function parseTemplate(template: string, where: string): Array<string | Placeholder> {
  if (typeof template !== 'string' || template === '') {
    throw new CacheError(
      CacheErrorCode.E_INVALID_TEMPLATE,
      `${where}: a key template must be a non-empty string`,
    );
  }
  const parts: Array<string | Placeholder> = [];
  let literal = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if ((c === '{' || c === '}') && template[i + 1] === c) {
      literal += c;
      i++;
    } else if (c === '{') {
      const close = template.indexOf('}', i);
      const raw = close === -1 ? '' : template.slice(i + 1, close).trim();
      if (close === -1 || !NAME.test(raw)) {
        throw new CacheError(
          CacheErrorCode.E_INVALID_TEMPLATE,
          `${where}: malformed placeholder in key template "${template}" at position ${i} (use {name}, {0} or {name.path}; {{ and }} for literal braces)`,
        );
      }
      if (literal !== '') parts.push(literal);
      literal = '';
      parts.push({ raw, path: raw.split('.') });
      i = close;
    } else if (c === '}') {
      throw new CacheError(
        CacheErrorCode.E_INVALID_TEMPLATE,
        `${where}: unmatched "}" in key template "${template}" (use }} for a literal brace)`,
      );
    } else {
      literal += c;
    }
  }
  if (literal !== '') parts.push(literal);
  return parts;
}

/**
 * Compiles parsed parts into a resolver, with a getter per placeholder chosen by `bind` (at
 * bootstrap). When a placeholder accepted by `required` has a nullish value, the resolver returns
 * `undefined` instead of a key (a key naming the user must never be shared by requests without one).
 */
export function compileTemplate<C>(
  parts: ReadonlyArray<string | Placeholder>,
  bind: (placeholder: Placeholder) => Getter<C>,
  required: (placeholder: Placeholder) => boolean = () => false,
): TemplateResolver<C> {
  const compiled = parts.map((part): string | { get: Getter<C>; required: boolean } =>
    typeof part === 'string' ? part : { get: bind(part), required: required(part) },
  );
  if (compiled.length === 1 && typeof compiled[0] === 'string') {
    const constant = compiled[0];
    return () => constant;
  }
  const n = compiled.length;
  return (context) => {
    let out = '';
    for (let i = 0; i < n; i++) {
      const part = compiled[i]!;
      if (typeof part === 'string') {
        out += part;
        continue;
      }
      const value = part.get(context);
      if (part.required && value == null) return undefined;
      out += encodeKeyPart(value);
    }
    return out;
  };
}

const FORBIDDEN_FIELDS = new Set(['__proto__', 'prototype', 'constructor']);

/** Throws when a placeholder path walks into prototype machinery. */
export function assertSafePath(placeholder: Placeholder, where: string): void {
  if (placeholder.path.some((field) => FORBIDDEN_FIELDS.has(field))) {
    throw new CacheError(
      CacheErrorCode.E_INVALID_TEMPLATE,
      `${where}: placeholder {${placeholder.raw}} may not use __proto__, prototype or constructor`,
    );
  }
}

/** A getter that walks `path` from `root(context)` (getters of class instances included). */
export function pathGetter<C>(root: (context: C) => unknown, path: readonly string[]): Getter<C> {
  if (path.length === 0) return root;
  if (path.length === 1) {
    const [field] = path as [string];
    return (context) => {
      const value = root(context) as Record<string, unknown> | null | undefined;
      return value == null ? undefined : value[field];
    };
  }
  return (context) => {
    let value = root(context) as Record<string, unknown> | null | undefined;
    for (const field of path) {
      if (value == null) return undefined;
      value = value[field] as Record<string, unknown> | null | undefined;
    }
    return value;
  };
}
