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

/** How one framework sets a header and a status on its response object. */
interface HeaderWriter<R> {
  header(response: R, name: string, value: string): void;
  status(response: R, code: number): void;
}

/**
 * Writes a stored answer's headers (ETag, Cache-Control, Age, Content-Type) and sends it with the
 * framework's own `send`: its bytes, or no body for a `304` or an empty answer. One place for both
 * frameworks; `writer` is their setter.
 */
function sendStored<R>(
  response: R,
  writer: HeaderWriter<R>,
  send: Send,
  answer: CachedResponse,
  notModified: boolean,
  headers: ReplayHeaders,
): unknown {
  writer.header(response, 'etag', answer.etag);
  if (headers.cacheControl !== undefined)
    writer.header(response, 'cache-control', headers.cacheControl);
  if (headers.age !== undefined) writer.header(response, 'age', headers.age);
  if (notModified) {
    writer.status(response, 304);
    return send.call(response);
  }
  if (answer.contentType === '') return send.call(response);
  writer.header(response, 'content-type', answer.contentType);
  return send.call(response, answer.body);
}

interface ExpressResponse {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
}

const EXPRESS: HeaderWriter<ExpressResponse> = {
  header: (res, name, value) => void res.setHeader(name, value),
  status: (res, code) => void (res.statusCode = code),
};

/** What an armed Express response replays, kept on it under a symbol (no closures per hit). */
interface ExpressReplay {
  readonly answer: CachedResponse;
  readonly notModified: boolean;
  readonly headers: ReplayHeaders;
  readonly json: Send;
  readonly send: Send;
  readonly ownJson: Send | undefined;
  readonly ownSend: Send | undefined;
}

const EXPRESS_REPLAY = Symbol('nest-tiered-cache.replay');
type ArmedExpress = ExpressResponse &
  Record<string, Send | undefined> & { [EXPRESS_REPLAY]?: ExpressReplay };

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
  const target = response as ArmedExpress;
  target[EXPRESS_REPLAY] = {
    answer,
    notModified,
    headers,
    json: target.json!,
    send: target.send!,
    ownJson: hasOwn.call(target, 'json') ? target.json : undefined,
    ownSend: hasOwn.call(target, 'send') ? target.send : undefined,
  };
  target.json = expressJson as Send;
  target.send = expressSend as Send;
}

/** Puts an armed Express response's own `send` and `json` back; returns what it replays. */
function disarmExpress(target: ArmedExpress): ExpressReplay {
  const replay = target[EXPRESS_REPLAY]!;
  target[EXPRESS_REPLAY] = undefined;
  if (replay.ownSend === undefined) delete target.send;
  else target.send = replay.ownSend;
  if (replay.ownJson === undefined) delete target.json;
  else target.json = replay.ownJson;
  return replay;
}

function expressJson(this: ArmedExpress, body?: unknown): unknown {
  const r = disarmExpress(this);
  return this.statusCode === 200
    ? sendStored(this, EXPRESS, r.send, r.answer, r.notModified, r.headers)
    : r.json.call(this, body);
}

function expressSend(this: ArmedExpress, body?: unknown): unknown {
  const r = disarmExpress(this);
  return this.statusCode === 200
    ? sendStored(this, EXPRESS, r.send, r.answer, r.notModified, r.headers)
    : r.send.call(this, body);
}

interface FastifyReply {
  readonly statusCode: number;
  header(name: string, value: string): unknown;
  code(status: number): unknown;
}

const FASTIFY: HeaderWriter<FastifyReply> = {
  header: (reply, name, value) => void reply.header(name, value),
  status: (reply, code) => void reply.code(code),
};

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
    return sendStored(this, FASTIFY, send, answer, notModified, headers);
  } as Send;
}
