import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { CachedResponse } from './cached-response.js';

/** The capture of one response on a miss: what was sent, once it was, if it may be stored. */
export interface ResponseCapture {
  /** The answer as sent, or `undefined` when it may not be stored (or was never sent). */
  readonly sent: Promise<CachedResponse | undefined>;
  /** Stops capturing (the handler's value is not to be stored); `sent` resolves to `undefined`. */
  cancel(): void;
}

type Method = (this: ServerResponse, ...args: unknown[]) => unknown;
const WRAPPED = ['writeHead', 'write', 'end'] as const;
const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Captures the answer a Node.js response sends, exactly as the framework hands it to Node (after
 * Express's or Fastify's serialization and Fastify's `onSend` hooks, before compression middleware,
 * which wraps the response before the cache does): the body, its status, its content type. An
 * answer may be stored when it is a `200` with a body sent in one piece (not a stream), without
 * `Set-Cookie` or `Content-Encoding`, to a request other than `HEAD`. Such an answer goes out with
 * the cache's strong `ETag` (replacing Express's weak one) and `cacheControl`, if any, so the miss
 * carries what later hits will.
 *
 * The response's `writeHead`, `write` and `end` are wrapped for this one response and put back as
 * they were once it ends (or closes, or the capture is cancelled). `writeHead` is held back until
 * the body is known, so that the ETag computed from it can still be sent.
 */
export function captureResponse(
  res: ServerResponse,
  clock: () => number,
  cacheControl: string | undefined,
): ResponseCapture {
  const target = res as unknown as Record<string, Method | undefined>;
  const own = WRAPPED.map((name) => (hasOwn.call(target, name) ? target[name] : undefined));
  const [writeHead, write, end] = WRAPPED.map((name) => target[name]!) as [Method, Method, Method];
  let heldHead: unknown[] | undefined;
  let settled = false;
  let resolve!: (answer: CachedResponse | undefined) => void;
  const sent = new Promise<CachedResponse | undefined>((r) => (resolve = r));

  const settle = (answer: CachedResponse | undefined) => {
    if (settled) return;
    settled = true;
    WRAPPED.forEach((name, i) => {
      if (own[i] === undefined) delete target[name];
      else target[name] = own[i];
    });
    res.removeListener('close', onClose);
    resolve(answer);
  };
  const releaseHead = () => {
    if (heldHead === undefined) return;
    const args = heldHead;
    heldHead = undefined;
    writeHead.apply(res, args);
  };
  const onClose = () => {
    releaseHead();
    settle(undefined);
  };

  target.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    heldHead = args;
    return this;
  };
  target.write = function (this: ServerResponse, ...args: unknown[]) {
    settle(undefined); // a body in several pieces: a stream, never stored
    releaseHead();
    return write.apply(this, args);
  };
  target.end = function (this: ServerResponse, ...args: unknown[]) {
    const answer = storable(res, heldHead, args[0], args[1], clock);
    if (answer !== undefined) {
      const headers = headersOf(heldHead);
      const add = (name: string, value: string) => {
        if (headers !== undefined) headers[name] = value;
        else res.setHeader(name, value);
      };
      add('etag', answer.etag);
      if (cacheControl !== undefined) add('cache-control', cacheControl);
    }
    settle(answer);
    releaseHead();
    return end.apply(this, args);
  };
  res.once('close', onClose);
  return {
    sent,
    cancel: () => {
      releaseHead();
      settle(undefined);
    },
  };
}

/** The answer `end(chunk, encoding)` sends, if it may be stored. */
function storable(
  res: ServerResponse,
  heldHead: unknown[] | undefined,
  chunk: unknown,
  encoding: unknown,
  clock: () => number,
): CachedResponse | undefined {
  const status = typeof heldHead?.[0] === 'number' ? heldHead[0] : res.statusCode;
  if (status !== 200 || res.req?.method === 'HEAD') return undefined;
  if (Array.isArray(headersArgument(heldHead))) return undefined; // raw header arrays: not read
  const headers = headersOf(heldHead);
  const header = (name: string) => headers?.[name] ?? res.getHeader(name);
  if (header('set-cookie') !== undefined) return undefined;
  const encodingHeader = header('content-encoding');
  if (encodingHeader !== undefined && encodingHeader !== 'identity') return undefined;
  const type = header('content-type');
  let body: Uint8Array;
  if (typeof chunk === 'string')
    body = Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  else if (chunk instanceof Uint8Array) body = chunk;
  else if (chunk === undefined || chunk === null || typeof chunk === 'function') body = EMPTY;
  else return undefined;
  if (typeof type !== 'string')
    return body.length === 0 ? CachedResponse.of(body, '', clock()) : undefined;
  return CachedResponse.of(body, type, clock());
}

const EMPTY = new Uint8Array(0);

/** The headers object passed to a held-back `writeHead(status, [message,] headers)`, if any. */
function headersOf(args: unknown[] | undefined): OutgoingHttpHeaders | undefined {
  const headers = headersArgument(args);
  return typeof headers === 'object' && headers !== null && !Array.isArray(headers)
    ? (headers as OutgoingHttpHeaders)
    : undefined;
}

function headersArgument(args: unknown[] | undefined): unknown {
  if (args === undefined) return undefined;
  return typeof args[1] === 'string' ? args[2] : args[1];
}

/** A body Nest streams (a Node or web stream, an async iterable, a fetch `Response`): never stored. */
export function isStream(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<PropertyKey, unknown>;
  return (
    typeof v.pipe === 'function' ||
    typeof v.getReader === 'function' ||
    (typeof v[Symbol.asyncIterator] === 'function' && typeof v.then !== 'function') ||
    Object.prototype.toString.call(value) === '[object Response]'
  );
}
