/**
 * Stable error codes of nest-tiered-cache. Codes never change meaning between versions, so they are
 * safe to alert on and to match in code (`err.code === 'E_BACKEND_TIMEOUT'`).
 */
export const CacheErrorCode = {
  /** A module or decorator option is missing, of the wrong type or out of range (bootstrap). */
  E_INVALID_OPTION: 'E_INVALID_OPTION',
  /** A duration could not be parsed or is negative (bootstrap). */
  E_INVALID_DURATION: 'E_INVALID_DURATION',
  /** A key, pattern or tag is empty, too long or otherwise unusable. */
  E_INVALID_KEY: 'E_INVALID_KEY',
  /** A backend call did not finish within the tier's deadline. */
  E_BACKEND_TIMEOUT: 'E_BACKEND_TIMEOUT',
  /** A backend call failed (connection refused, disk full, server error...). */
  E_BACKEND_ERROR: 'E_BACKEND_ERROR',
  /** The tier's circuit breaker is open after repeated failures; the call was not attempted. */
  E_CIRCUIT_OPEN: 'E_CIRCUIT_OPEN',
  /** A stored entry could not be decoded; it was deleted and the read became a miss. */
  E_CORRUPT_ENTRY: 'E_CORRUPT_ENTRY',
  /** A value could not be serialized (a function, a symbol...); it was not cached. */
  E_UNSERIALIZABLE: 'E_UNSERIALIZABLE',
  /** An encoded entry is larger than the tier accepts. */
  E_ENTRY_TOO_LARGE: 'E_ENTRY_TOO_LARGE',
  /** `atomic: 'at-most-once'` waited longer than the lease allows for another process's value. */
  E_LOCK_TIMEOUT: 'E_LOCK_TIMEOUT',
  /** A key template names something the route or method does not have, or is malformed (bootstrap). */
  E_INVALID_TEMPLATE: 'E_INVALID_TEMPLATE',
  /** An operation needs a capability the configured backend does not have. */
  E_UNSUPPORTED: 'E_UNSUPPORTED',
  /**
   * An origin (a `getOrSet` factory, a `@Cached` method or route) did not settle within its
   * `hardTimeout`: every caller waiting for it was released with an {@link OriginTimeoutError}.
   */
  E_ORIGIN_TIMEOUT: 'E_ORIGIN_TIMEOUT',
} as const;

/** One of the {@link CacheErrorCode} values. */
export type CacheErrorCode = (typeof CacheErrorCode)[keyof typeof CacheErrorCode];

/**
 * The one error class the library throws or reports. `code` is stable; `message` is for humans and
 * never contains cached values (keys appear only as hashes at runtime).
 */
export class CacheError extends Error {
  override readonly name: string = 'CacheError';

  constructor(
    /** Stable machine-readable code. */
    readonly code: CacheErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Thrown to every caller of an origin (a `getOrSet` factory, a `@Cached` provider method or route)
 * that did not settle within its `hardTimeout` (code `E_ORIGIN_TIMEOUT`). The next call starts a
 * fresh origin call; the late result of this one is stored only if nothing changed the key since
 * it began. On a route it reaches the application's exception filters as it is: Nest's default
 * filter answers `500`; map it to `504` with an `@Catch(OriginTimeoutError)` filter.
 */
export class OriginTimeoutError extends CacheError {
  override readonly name: string = 'OriginTimeoutError';

  constructor(
    /** The `hardTimeout` that passed, in ms. */
    readonly timeoutMs: number,
    /** How the key is named in messages: `key#` and the start of its hash. */
    keyRef: string,
  ) {
    super(
      CacheErrorCode.E_ORIGIN_TIMEOUT,
      `the origin of ${keyRef} did not settle within its hardTimeout of ${timeoutMs} ms`,
    );
  }
}

/**
 * Wraps any thrown value in a {@link CacheError}, keeping an existing one as it is. A client's own
 * timeout (ioredis's "Command timed out", an ETIMEDOUT) becomes `E_BACKEND_TIMEOUT`.
 */
export function toCacheError(err: unknown, code: CacheErrorCode, context: string): CacheError {
  if (err instanceof CacheError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  const timedOut =
    /timed out|ETIMEDOUT/i.test(detail) || (err as { code?: unknown } | null)?.code === 'ETIMEDOUT';
  // The original message may quote a value; it stays reachable as `cause`, never in the message.
  return new CacheError(
    timedOut ? CacheErrorCode.E_BACKEND_TIMEOUT : code,
    `${context}: ${describeError(err)}`,
    { cause: err },
  );
}

/** A class or constructor name that is an identifier (anything else is not printed). */
const SAFE_NAME = /^[A-Za-z_$][\w$]{0,63}$/;
/** An error code such as `ECONNREFUSED` or `ERR_STREAM_DESTROYED`. */
const SAFE_CODE = /^[A-Z][A-Z0-9_]{1,39}$/;
/** The error prefix a Redis error reply starts with (`OOM`, `WRONGTYPE`, `NOAUTH`...). */
const REPLY_PREFIX = /^([A-Z][A-Z_]{1,23})(?: |$)/;

/**
 * What may be logged of any thrown value: its class and code, never its content. A foreign error's
 * message may quote a value (V8 quotes a function's source or a symbol's description, an
 * application's error a user's data), so it is left out: the class (`TypeError`, `ReplyError`), a
 * string `code` (`ECONNREFUSED`), and the prefix of a Redis error reply (`ReplyError OOM`). A
 * {@link CacheError} is described by its code and message, which the library writes without values.
 * Never throws.
 */
export function describeError(err: unknown): string {
  if (err instanceof CacheError) return `${err.name} ${err.code}: ${err.message}`;
  if (typeof err !== 'object' || err === null) return `a thrown ${typeof err}`;
  try {
    const name = className(err);
    const code = codeOf(err, name);
    return code === undefined ? name : `${name} ${code}`;
  } catch {
    return 'object'; // a proxy or a getter that throws
  }
}

/**
 * The code of a thrown value, safe to log (see {@link describeError}): its string `code`
 * (`ECONNREFUSED`, a {@link CacheError}'s), or the prefix of a Redis error reply (`NOPERM`);
 * undefined when it has neither. Never throws.
 */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  try {
    return codeOf(err, className(err));
  } catch {
    return undefined;
  }
}

/** The constructor's name of an error, when it is an identifier; else `object`. */
function className(err: object): string {
  const ctor = (Object.getPrototypeOf(err) as { constructor?: { name?: unknown } } | null)
    ?.constructor?.name;
  return typeof ctor === 'string' && SAFE_NAME.test(ctor) ? ctor : 'object';
}

function codeOf(err: object, name: string): string | undefined {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && SAFE_CODE.test(code)) return code;
  const message = (err as { message?: unknown }).message;
  // ioredis 6's error replies are `SimpleError`s and `BlobError`s, named `ReplyError` as in 5.
  const isReply = name === 'ReplyError' || (err as { name?: unknown }).name === 'ReplyError';
  return isReply && typeof message === 'string' ? REPLY_PREFIX.exec(message)?.[1] : undefined;
}

/** System error codes of a full disk or an exhausted quota. */
const OUT_OF_SPACE_CODES: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT']);

/**
 * True when a backend refused a write for lack of room: a full disk or quota (`ENOSPC`, `EDQUOT`)
 * or a Redis at `maxmemory` that may not evict (an `OOM` error reply), on the error or its causes.
 * Such a store still reads: it is not unavailable.
 */
export function isOutOfSpace(err: unknown): boolean {
  for (let cause = err, depth = 0; depth < 4; depth++) {
    if (typeof cause !== 'object' || cause === null) return false;
    const { code, message, name } = cause as { code?: unknown; message?: unknown; name?: unknown };
    if (typeof code === 'string' && OUT_OF_SPACE_CODES.has(code)) return true;
    if (name === 'ReplyError' && typeof message === 'string' && message.startsWith('OOM '))
      return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}
