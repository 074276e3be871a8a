import { CacheError, CacheErrorCode } from '../cache.errors.js';
import { tryEncodeKeyPart } from './key-encoding.js';
import { isPlaceholderType, PLACEHOLDER_TYPES, type PlaceholderType } from './placeholder-types.js';

/**
 * A placeholder of a template: `{query.page}` is `{ raw: 'query.page', path: ['query', 'page'] }`;
 * `{id:int}` is `{ raw: 'id:int', path: ['id'], type: 'int' }`; `{user.id?}` is
 * `{ raw: 'user.id?', path: ['user', 'id'], optional: true }`.
 */
export interface Placeholder {
  readonly raw: string;
  readonly path: readonly string[];
  /** The declared type (`{id:int}`), whose canonical form replaces the value. */
  readonly type?: PlaceholderType;
  /** Marked optional with `?` (`{user.id?}`); the binder decides what its absence means. */
  readonly optional?: true;
}

/** Reads a placeholder's value from a context (a request, or a method's arguments). */
export type Getter<C> = (context: C) => unknown;

/**
 * How one placeholder is read, chosen by a binder at bootstrap. A bare {@link Getter} is a binding
 * whose value is encoded as it is, `null` and `undefined` included.
 */
export interface Binding<C> {
  /** Reads the value. */
  readonly get: Getter<C>;
  /**
   * What a `null` or `undefined` value does: `'bypass'` skips the cache (a key naming the user
   * must never be shared by requests without one); a function gives the key part to use instead,
   * already encoded, or `undefined` to skip the cache. Default: the value is encoded (`undefined`
   * is nothing, `null` is `!null`).
   */
  readonly nullish?: 'bypass' | ((context: C) => string | undefined);
  /**
   * The getter returns a key part that is already encoded and safe (`{query}`), or `undefined` to
   * skip the cache: it is neither typed nor escaped again.
   */
  readonly encoded?: boolean;
}

/** A compiled template: context in, key (or pattern, or tag) out, or undefined when it cannot be keyed. */
export type TemplateResolver<C> = (context: C) => string | undefined;

const NAME = /^([\w$-]+(?:\.[\w$-]+)*)(\?)?(?::([\w$-]*))?$/;

/**
 * Splits a template into literal text and placeholders. `{{` and `}}` stand for literal braces.
 * A placeholder may be marked optional with `?` after its path (`{user.id?}`), and may name a type
 * after a colon (`{id:int}`, `{id:uuid}`, `{slug:str}`, `{user.id?:int}`; see
 * {@link PLACEHOLDER_TYPES}). Throws `E_INVALID_TEMPLATE` (naming `where`) on an unclosed, empty or
 * malformed placeholder, or an unknown type.
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
      const match = close === -1 ? null : NAME.exec(raw);
      if (match === null) {
        throw new CacheError(
          CacheErrorCode.E_INVALID_TEMPLATE,
          `${where}: malformed placeholder in key template "${template}" at position ${i} (use {name}, {0}, {name.path} or {name:int}; {{ and }} for literal braces)`,
        );
      }
      const [, name, optional, type] = match as unknown as [
        string,
        string,
        string | undefined,
        string | undefined,
      ];
      if (type !== undefined && !isPlaceholderType(type)) {
        throw new CacheError(
          CacheErrorCode.E_INVALID_TEMPLATE,
          `${where}: unknown type "${type}" in placeholder {${raw}} of key template "${template}"; known types: ${Object.keys(PLACEHOLDER_TYPES).join(', ')}`,
        );
      }
      if (literal !== '') parts.push(literal);
      literal = '';
      parts.push({
        raw,
        path: name.split('.'),
        ...(type !== undefined && { type }),
        ...(optional !== undefined && { optional: true as const }),
      });
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
  assertSeparated(parts, template, where);
  return parts;
}

/** Characters that no encoded value contains raw: one of them makes two placeholders' values separable. */
const SEPARATOR = /[:*?[\]\\{}\s\u0000-\u001f\u007f]/;

/**
 * Throws unless the literal text between two placeholders holds a character that values never
 * contain raw (`:` usually): in `{from}-{to}`, from `2024-01` and to `02` would give the key of
 * from `2024` and to `01-02`.
 */
function assertSeparated(
  parts: ReadonlyArray<string | Placeholder>,
  template: string,
  where: string,
): void {
  let previous: Placeholder | undefined;
  let between = '';
  for (const part of parts) {
    if (typeof part === 'string') {
      between += part;
      continue;
    }
    if (previous !== undefined && !SEPARATOR.test(between)) {
      throw new CacheError(
        CacheErrorCode.E_INVALID_TEMPLATE,
        `${where}: key template "${template}" puts {${previous.raw}} and {${part.raw}} side by side; separate them with ":" (their values may contain ${between === '' ? 'any text' : `"${between}"`}, so two different pairs could give one key)`,
      );
    }
    previous = part;
    between = '';
  }
}

interface CompiledPlaceholder<C> {
  readonly get: Getter<C>;
  readonly nullish: Binding<C>['nullish'];
  readonly encoded: boolean;
  readonly canonical: ((value: unknown) => string | undefined) | undefined;
}

/**
 * Compiles parsed parts into a resolver, with a {@link Binding} (or a bare getter) per placeholder
 * chosen by `bind` (at bootstrap). Each value is encoded by {@link tryEncodeKeyPart}, after its
 * type's canonical form when the placeholder is typed. The resolver returns `undefined` instead of
 * a key, so that the call bypasses the cache, and never throws, when:
 * - a placeholder's value is nullish and its binding says so (`nullish`);
 * - a typed placeholder's value is not of its type (`{id:int}` and `abc`);
 * - a value cannot be keyed (a function, a cycle...), or a getter throws;
 * - the key would be empty.
 */
export function compileTemplate<C>(
  parts: ReadonlyArray<string | Placeholder>,
  bind: (placeholder: Placeholder) => Getter<C> | Binding<C>,
): TemplateResolver<C> {
  const compiled = parts.map((part): string | CompiledPlaceholder<C> => {
    if (typeof part === 'string') return part;
    const bound = bind(part);
    const binding: Binding<C> = typeof bound === 'function' ? { get: bound } : bound;
    return {
      get: binding.get,
      nullish: binding.nullish,
      encoded: binding.encoded === true,
      canonical: part.type === undefined ? undefined : PLACEHOLDER_TYPES[part.type],
    };
  });
  if (compiled.length === 1 && typeof compiled[0] === 'string') {
    const constant = compiled[0];
    return () => constant;
  }
  const n = compiled.length;
  const resolve = (context: C): string | undefined => {
    let out = '';
    for (let i = 0; i < n; i++) {
      const part = compiled[i]!;
      if (typeof part === 'string') {
        out += part;
        continue;
      }
      let value = part.get(context);
      if (value == null && part.nullish !== undefined) {
        const instead = part.nullish === 'bypass' ? undefined : part.nullish(context);
        if (instead === undefined) return undefined;
        out += instead;
        continue;
      }
      if (part.encoded) {
        if (typeof value !== 'string') return undefined;
        out += value;
        continue;
      }
      if (part.canonical !== undefined) {
        value = part.canonical(value);
        if (value === undefined) return undefined;
      }
      const encoded = tryEncodeKeyPart(value);
      if (encoded === undefined) return undefined;
      out += encoded;
    }
    return out === '' ? undefined : out;
  };
  return (context) => {
    try {
      return resolve(context);
    } catch {
      return undefined; // a getter that throws (a class's accessor): bypass, never break the call
    }
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
