import { encodeKeyPart } from '../keys/key-encoding.js';
import { pathGetter, type Binding, type Placeholder } from '../keys/key-template.js';
import { encodeQuery } from '../keys/query-encoding.js';
import type { CredentialRule, HttpRequestLike, TemplateBinder } from './cache-plans.js';

/**
 * What an optional viewer placeholder (`{user.id?}`) puts in a key for an anonymous request: one
 * that has no `request.user` and carries no credentials. No value encodes to it: a string's `!` is
 * escaped (`%21anonymous`) and a typed value's text is never a bare word.
 */
export const ANONYMOUS_VIEWER = '!anonymous';

/** The headers that carry credentials: a request with either is not anonymous. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie'] as const;
type CredentialHeader = (typeof CREDENTIAL_HEADERS)[number];

/** Whether a request carries credentials (`Authorization` or `Cookie`). */
export function hasCredentials(request: HttpRequestLike): boolean {
  return request.headers.authorization !== undefined || request.headers.cookie !== undefined;
}

/** Whether a request has a user: `request.user` set to something (passport may leave `false`). */
function hasUser(request: HttpRequestLike): boolean {
  return request.user != null && request.user !== false;
}

/**
 * The key part of `{user.x?}` when `request.user.x` is null or undefined: the shared anonymous
 * entry only for a request with neither a user nor credentials. A request with credentials but no
 * user (a token the guard did not resolve, an optional guard that let it through) or a user
 * without that field skips the cache: it must never be answered for somebody else.
 */
function anonymousViewer(request: HttpRequestLike): string | undefined {
  return hasUser(request) || hasCredentials(request) ? undefined : ANONYMOUS_VIEWER;
}

const sources = {
  params: (req: HttpRequestLike): unknown => req.params,
  query: (req: HttpRequestLike): unknown => req.query,
  body: (req: HttpRequestLike): unknown => req.body,
  user: (req: HttpRequestLike): unknown => req.user,
  header: (req: HttpRequestLike): unknown => req.headers,
};

const wholeQuery: Binding<HttpRequestLike> = {
  get: (req) => encodeQuery(req.query),
  encoded: true,
};

function credentialHeader(placeholder: Placeholder): CredentialHeader | undefined {
  const [head, name] = placeholder.path;
  if (head !== 'header' || placeholder.path.length !== 2) return undefined;
  const lower = name!.toLowerCase();
  return CREDENTIAL_HEADERS.find((header) => header === lower);
}

/**
 * The credential rule of a route key: a key naming the user (`{user.*}`) may be used by requests
 * with credentials, its user placeholders deciding per request; a key naming a credential header
 * (`{header.authorization}`, `{header.cookie}`) only by requests that carry no other credential;
 * any other key (`{header.accept-language}` included) by none.
 */
function routeCredentials(placeholders: readonly Placeholder[]): CredentialRule<HttpRequestLike> {
  if (placeholders.some((p) => p.path[0] === 'user' && p.path.length > 1))
    return { namesUser: true };
  const named = new Set(placeholders.map(credentialHeader));
  if (!named.has('authorization') && !named.has('cookie')) return { namesUser: false };
  if (named.has('authorization') && named.has('cookie')) return { namesUser: true };
  const unnamed = named.has('authorization') ? 'cookie' : 'authorization';
  return { namesUser: true, admits: (req) => req.headers[unnamed] === undefined };
}

/**
 * Placeholders of a route: its path params, `{query}` (the whole sorted query), and `query.*`,
 * `body.*`, `user.*` (`user.*?` optional), `header.*`, `params.*`.
 */
export function routeBinder(routeParams: readonly string[]): TemplateBinder<HttpRequestLike> {
  const hasQueryParam = routeParams.includes('query');
  return {
    available: [
      ...routeParams.map((p) => `{${p}}`),
      ...(hasQueryParam ? [] : ['{query}']),
      '{query.*}',
      '{body.*}',
      '{user.*}',
      '{header.*}',
    ].join(', '),
    refuse(placeholder) {
      const [head, ...rest] = placeholder.path as [string, ...string[]];
      if (placeholder.optional && (head !== 'user' || rest.length === 0))
        return 'only {user.*} placeholders may be optional: {user.id?} names the viewer when there is one, and a shared anonymous entry for requests without a user or credentials';
      if (head === 'query' && rest.length === 0) {
        if (hasQueryParam)
          return 'the route has a :query param, so {query} could mean it or the whole query string; write {params.query} for the param (rename the param to key by the whole query)';
        if (placeholder.type !== undefined)
          return '{query} is the whole query string and takes no type; type one value instead ({query.page:int})';
      }
      return undefined;
    },
    bind(placeholder) {
      const [head, ...rest] = placeholder.path as [string, ...string[]];
      if (rest.length === 0) {
        if (routeParams.includes(head)) return pathGetter(sources.params, [head]);
        return head === 'query' ? wholeQuery : undefined;
      }
      if (head === 'params')
        return routeParams.includes(rest[0]!) ? pathGetter(sources.params, rest) : undefined;
      if (head === 'header') {
        if (rest.length !== 1) return undefined;
        return { get: pathGetter(sources.header, [rest[0]!.toLowerCase()]), nullish: 'bypass' };
      }
      if (head === 'user') {
        const get = pathGetter(sources.user, rest);
        return { get, nullish: placeholder.optional ? anonymousViewer : 'bypass' };
      }
      const source = head === 'query' || head === 'body' ? sources[head] : undefined;
      return source === undefined ? undefined : pathGetter(source, rest);
    },
    credentials: routeCredentials,
  };
}

/**
 * The default route key: `http:` and the path the router matched, then the whole query sorted by
 * name (as `{query}`). The path is the route's own (`/api/products/:id`, global prefix and URI
 * version included) with each param as the router decoded it, encoded as `{id}` encodes it (a `/`
 * in a value as `%2F`), so spellings of one URL the router treats alike (`/products/%31`, and on
 * Express `/Products/1` and `/products/1/`) share one entry, which an invalidation of
 * `http:/api/products/{id}` removes. Values the application treats alike (`01` and `1`) are
 * different values: a typed key template (`{id:int}`) canonicalises them. Without a plain route
 * pattern (wildcards, regular expressions, an unknown adapter), the request's path is used with
 * each segment percent-decoded; a path that cannot be decoded skips the cache.
 */
export function defaultRouteKey(req: HttpRequestLike): string | undefined {
  const path = routePath(req) ?? decodedPath(req);
  if (path === undefined) return undefined;
  const query = encodeQuery(req.query);
  if (query === undefined) return undefined;
  return query === '' ? `http:${path}` : `http:${path}?${query}`;
}

/**
 * The default key of a route that answers for `version` (`@Version`): `http@<version>:` instead of
 * `http:`, since routes of several versions may share a path (header or media-type versioning).
 */
export function defaultRouteKeyFor(
  version: string | undefined,
): (req: HttpRequestLike) => string | undefined {
  if (version === undefined) return defaultRouteKey;
  const scheme = `http@${encodeKeyPart(version)}:`;
  return (req) => {
    const key = defaultRouteKey(req);
    return key === undefined ? undefined : scheme + key.slice('http:'.length);
  };
}

/** A route pattern of static segments and `:name` params only (Express and Fastify syntax). */
const PLAIN_PATTERN = /^(?:\/(?:[\w.~-]+|:[A-Za-z_]\w*))*\/?$/;
const PARAM = /:([A-Za-z_]\w*)/g;

/** The matched route's pattern with its params substituted, or undefined when there is none to use. */
function routePath(req: HttpRequestLike): string | undefined {
  const pattern =
    (req as { route?: { path?: unknown } }).route?.path ?? // Express
    (req as { routeOptions?: { url?: unknown } }).routeOptions?.url; // Fastify
  if (typeof pattern !== 'string' || !PLAIN_PATTERN.test(pattern)) return undefined;
  const params = req.params ?? {};
  let missing = false;
  const path = pattern.replace(PARAM, (_match, name: string) => {
    const value = params[name];
    if (typeof value !== 'string') missing = true;
    return keySegment(String(value));
  });
  return missing ? undefined : path;
}

/** The request's own path, each segment percent-decoded; undefined when one cannot be decoded. */
function decodedPath(req: HttpRequestLike): string | undefined {
  const url = req.originalUrl ?? req.url;
  const cut = url.indexOf('?');
  const segments = (cut === -1 ? url : url.slice(0, cut)).split('/');
  try {
    return segments.map((segment) => keySegment(decodeURIComponent(segment))).join('/');
  } catch {
    return undefined; // malformed percent-encoding: never two spellings of one key
  }
}

/** One path segment in a key: escaped as a `{param}` value is, and its `/` as `%2F`. */
function keySegment(text: string): string {
  return text === '' ? '' : encodeKeyPart(text).replaceAll('/', '%2F');
}
