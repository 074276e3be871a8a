import type { CachedResponse } from './cached-response.js';

/** Headers a hit carries besides `ETag` and `Content-Type` (both optional). */
export interface ReplayHeaders {
  /** `Cache-Control` (routes with `httpCache`). */
  readonly cacheControl: string | undefined;
  /** `Age`, in whole seconds since the answer was stored (routes with `httpCache`). */
  readonly age: string | undefined;
}

/**
 * Arms one response so that the framework's next send of a `200` answer sends a stored answer
 * instead, whatever value reaches it (the value interceptors outside the cache's made of the
 * {@link CachedResponse}): the stored bytes with their content type, or `304` with no body when
 * `notModified`. Any other status (an exception filter's answer) is sent as the framework would.
 */
export type Replay = (
  response: unknown,
  answer: CachedResponse,
  notModified: boolean,
  headers: ReplayHeaders,
) => void;

type Send = (this: unknown, body?: unknown) => unknown;
const hasOwn = Object.prototype.hasOwnProperty;

/** The replay of an HTTP adapter (`httpAdapter.getType()`), or `undefined` for one it does not know. */
export function replayFor(adapterType: string): Replay | undefined {
  if (adapterType === 'express') return replayExpress;
  if (adapterType === 'fastify') return replayFastify;
  return undefined;
}

interface ExpressResponse {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
}

/**
 * Express: Nest's adapter answers with `res.json(body)` for objects and `res.send(body)`
 * otherwise. Both are overridden on this response only, and put back on first use; the stored
 * bytes go through Express's own `res.send` (a Buffer: Content-Length, HEAD, no ETag of its own).
 */
function replayExpress(
  response: unknown,
  answer: CachedResponse,
  notModified: boolean,
  headers: ReplayHeaders,
): void {
  const target = response as Record<string, Send | undefined>;
  const ownJson = hasOwn.call(target, 'json') ? target.json : undefined;
  const ownSend = hasOwn.call(target, 'send') ? target.send : undefined;
  const json = target.json!;
  const send = target.send!;
  const restore = () => {
    if (ownSend === undefined) delete target.send;
    else target.send = ownSend;
    if (ownJson === undefined) delete target.json;
    else target.json = ownJson;
  };
  const sendStored = (res: ExpressResponse) => {
    res.setHeader('ETag', answer.etag);
    if (headers.cacheControl !== undefined) res.setHeader('Cache-Control', headers.cacheControl);
    if (headers.age !== undefined) res.setHeader('Age', headers.age);
    if (notModified) {
      res.statusCode = 304;
      return send.call(res);
    }
    if (answer.contentType === '') return send.call(res);
    res.setHeader('Content-Type', answer.contentType);
    return send.call(res, answer.body);
  };
  target.json = function (this: ExpressResponse, body?: unknown) {
    restore();
    return this.statusCode === 200 ? sendStored(this) : json.call(this, body);
  } as Send;
  target.send = function (this: ExpressResponse, body?: unknown) {
    restore();
    return this.statusCode === 200 ? sendStored(this) : send.call(this, body);
  } as Send;
}

interface FastifyReply {
  readonly statusCode: number;
  header(name: string, value: string): unknown;
  code(status: number): unknown;
}

/**
 * Fastify: Nest's adapter answers with `reply.send(body)`, overridden on this reply only and put
 * back on first use. A Buffer with its content type set is sent as it is (no serializer), through
 * the route's `onSend` hooks.
 */
function replayFastify(
  response: unknown,
  answer: CachedResponse,
  notModified: boolean,
  headers: ReplayHeaders,
): void {
  const target = response as Record<string, Send | undefined>;
  const own = hasOwn.call(target, 'send') ? target.send : undefined;
  const send = target.send!;
  target.send = function (this: FastifyReply, payload?: unknown) {
    if (own === undefined) delete target.send;
    else target.send = own;
    if (this.statusCode !== 200) return send.call(this, payload);
    this.header('etag', answer.etag);
    if (headers.cacheControl !== undefined) this.header('cache-control', headers.cacheControl);
    if (headers.age !== undefined) this.header('age', headers.age);
    if (notModified) {
      this.code(304);
      return send.call(this);
    }
    if (answer.contentType === '') return send.call(this);
    this.header('content-type', answer.contentType);
    return send.call(this, answer.body);
  } as Send;
}
