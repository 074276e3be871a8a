import type { Redis } from 'ioredis';
import { withDeadline } from '../core/deadline.js';

/** The channel on which Redis delivers tracking invalidations to a RESP2 redirect target. */
export const TRACKING_CHANNEL = '__redis__:invalidate';

/**
 * Points BCAST tracking of `prefix` on `connection` at client `redirectId`, with NOLOOP (the
 * connection's own writes are not reported). Tracking is switched off first: Redis refuses to add
 * a prefix a client already tracks, and a new redirect needs a fresh `on`.
 */
export async function enableTracking(
  connection: Redis,
  redirectId: number,
  prefix: string,
  timeoutMs: number,
): Promise<void> {
  await withDeadline(connection.call('CLIENT', 'TRACKING', 'off'), timeoutMs, 'CLIENT TRACKING');
  const on = connection.call(
    'CLIENT',
    'TRACKING',
    'on',
    'REDIRECT',
    String(redirectId),
    'BCAST',
    'PREFIX',
    prefix,
    'NOLOOP',
  );
  await withDeadline(on, timeoutMs, 'CLIENT TRACKING');
}

/** Switches tracking off on `connection` (best effort, never rejects). */
export async function disableTracking(connection: Redis, timeoutMs: number): Promise<void> {
  if (connection.status !== 'ready') return;
  await withDeadline(connection.call('CLIENT', 'TRACKING', 'off'), timeoutMs, 'CLIENT TRACKING')
    .then(() => undefined)
    .catch(() => undefined);
}

/**
 * Whether tracking on `connection` is still on and redirected to `redirectId` (CLIENT
 * TRACKINGINFO, Redis 6.2+). Undefined when it cannot tell (older server, timeout, disconnected).
 */
export async function trackingIntact(
  connection: Redis,
  redirectId: number,
  timeoutMs: number,
): Promise<boolean | undefined> {
  if (connection.status !== 'ready') return undefined;
  let reply: unknown;
  try {
    reply = await withDeadline(
      connection.call('CLIENT', 'TRACKINGINFO'),
      timeoutMs,
      'CLIENT TRACKINGINFO',
    );
  } catch {
    return undefined;
  }
  if (!Array.isArray(reply)) return undefined;
  const info = new Map<string, unknown>();
  for (let i = 0; i + 1 < reply.length; i += 2) info.set(String(reply[i]), reply[i + 1]);
  const flags = (info.get('flags') as unknown[] | undefined)?.map(String) ?? [];
  return (
    flags.includes('on') &&
    !flags.includes('broken_redirect') &&
    Number(info.get('redirect')) === redirectId
  );
}

/** Error replies that mean "this server will never do it", as opposed to BUSY, LOADING, OOM... */
const REFUSAL = /unknown|NOPERM|unsupported|not (allowed|supported|permitted)|wrong number/i;

/**
 * True when the server refused tracking itself (unknown command or subcommand, an ACL or a proxy
 * that forbids it), as opposed to a connection failure, a transient error reply, or a redirect
 * target that went away.
 */
export function trackingRefused(err: unknown): boolean {
  if (!(err instanceof Error) || err.name !== 'ReplyError') return false;
  return REFUSAL.test(err.message) && !/redirect/i.test(err.message);
}
