import { Cluster, type Redis } from 'ioredis';
import { errorCode } from '../cache.errors.js';
import { withDeadline } from '../core/deadline.js';
import { slotMapMasters } from './redis-cluster.js';

/** How often a store re-reads whether its masters can evict keys (INFO), in ms. */
export const EVICTION_POLICY_REFRESH_MS = 5_000;

/**
 * Whether the server whose `INFO memory` and `INFO stats` are `info` can evict keys, or has:
 * `maxmemory` above 0 with a policy other than `noeviction`, or `evicted_keys` above 0 (some
 * registration may already be lost). Undefined when a field is missing (a proxy, a fork).
 */
export function evictionPossible(info: string): boolean | undefined {
  const maxmemory = /^maxmemory:(\d+)\r?$/m.exec(info)?.[1];
  const policy = /^maxmemory_policy:(\S+)\r?$/m.exec(info)?.[1];
  const evicted = /^evicted_keys:(\d+)\r?$/m.exec(info)?.[1];
  if (maxmemory === undefined || policy === undefined || evicted === undefined) return undefined;
  return (Number(maxmemory) > 0 && policy !== 'noeviction') || Number(evicted) > 0;
}

/**
 * Whether the masters a Redis store talks to may evict keys, which decides whether a tagged hit
 * must check its tag registrations (see `RedisStore.confirmTags`). Each master (the one node, the
 * current master through Sentinel, every master of a Cluster's slot map) is asked with `INFO` on
 * every (re)connection of the client and every {@link EVICTION_POLICY_REFRESH_MS} after (a
 * `CONFIG SET` at run time is seen within that), by an unref'd timer that {@link close} clears.
 *
 * {@link mayEvict} stays true until every current master answered that it cannot evict, while one
 * is not known (connecting, a new master after a failover, INFO refused or timed out), and for
 * the rest of the store's life once any master could: entries whose registrations it evicted
 * may still be alive, even on a replica promoted since or after a slot moved. One flag for the
 * whole store: on a Cluster, one evicting master makes every tagged hit check.
 */
export class RedisEvictionWatch {
  /** Whether a tagged hit must check its registrations. Read on every tagged hit. */
  mayEvict = true;
  /** Some master could evict (or had evicted) at some point: checks stay on for good. */
  private everPossible = false;
  /** The masters (`host:port`, '' for a single connection) known not to evict. */
  private readonly cannotEvict = new Set<string>();
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private chain: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;
  /** Whether `INFO memory stats` (several sections, Redis 7+) failed once: two calls then. */
  private oneSectionPerCall = false;
  private warned = false;
  private closed = false;

  constructor(
    private readonly client: Redis | Cluster,
    private readonly timeoutMs: number,
    private readonly warn: (message: string) => void = () => undefined,
  ) {
    const ready = () => {
      // A reconnection may land on another server (Sentinel) or a restarted one: not known again.
      this.cannotEvict.clear();
      this.update();
      void this.refresh();
    };
    // A Cluster's slot map refresh (each second) may name a master not asked yet.
    const refreshed = () => {
      this.update();
      if (this.mayEvict && !this.everPossible) void this.refresh();
    };
    client.on('ready', ready);
    if (client instanceof Cluster) client.on('refresh', refreshed);
    this.unsubscribe = () => {
      client.off('ready', ready);
      client.off('refresh', refreshed);
    };
    this.timer = setInterval(() => void this.refresh(), EVICTION_POLICY_REFRESH_MS);
    this.timer.unref();
    if (client.status === 'ready') void this.refresh();
  }

  /**
   * Asks every current master now (after a probe in flight, if any: what it reads may predate
   * a change). Never rejects. Tests call it to make the refresh deterministic.
   */
  refresh(): Promise<void> {
    if (this.queued !== undefined) return this.queued; // not started yet: it will read after now
    const next = this.chain.then(() => {
      this.queued = undefined;
      return this.probe();
    });
    this.queued = next;
    this.chain = next;
    return next;
  }

  /** Stops the timer and the listeners. */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.unsubscribe();
  }

  private async probe(): Promise<void> {
    if (this.closed || this.everPossible) return;
    await Promise.all(
      this.masters().map(async ([id, node]) => {
        // Not connected: a read cannot reach it either; it is asked again once ready.
        if (node === undefined || node.status !== 'ready') return;
        const possible = await this.ask(node);
        if (possible === true) this.everPossible = true;
        if (possible === false) this.cannotEvict.add(id);
        else this.cannotEvict.delete(id);
      }),
    );
    this.update();
  }

  private update(): void {
    if (this.everPossible) {
      this.mayEvict = true;
      return;
    }
    const masters = this.masters();
    this.mayEvict =
      masters.length === 0 ||
      masters.some(([id, node]) => node === undefined || !this.cannotEvict.has(id));
  }

  /** The current masters, each with its connection (undefined: a slot unserved or no connection). */
  private masters(): Array<[string, Redis | undefined]> {
    const client = this.client;
    if (!(client instanceof Cluster)) return [['', client]];
    const { masters, unserved } = slotMapMasters(client);
    const all: Array<[string, Redis | undefined]> = [...masters];
    if (unserved > 0) all.push(['-', undefined]);
    return all;
  }

  /** Whether `node` can evict; undefined when it would not say (logged once, without values). */
  private async ask(node: Redis): Promise<boolean | undefined> {
    try {
      const possible = evictionPossible(
        await withDeadline(this.info(node), this.timeoutMs, 'Redis INFO'),
      );
      if (possible !== undefined) return possible;
      this.warnOnce('its INFO reply has no maxmemory, maxmemory_policy or evicted_keys');
    } catch (err) {
      // The error's code only (NOPERM, E_BACKEND_TIMEOUT...): nothing the server echoed back.
      this.warnOnce(`INFO failed (${errorCode(err) ?? 'error'})`);
    }
    return undefined;
  }

  private async info(node: Redis): Promise<string> {
    if (!this.oneSectionPerCall) {
      try {
        return await node.info('memory', 'stats');
      } catch {
        this.oneSectionPerCall = true; // before Redis 7, INFO takes one section
      }
    }
    const [memory, stats] = await Promise.all([node.info('memory'), node.info('stats')]);
    return memory + stats;
  }

  private warnOnce(why: string): void {
    if (this.warned) return;
    this.warned = true;
    this.warn(
      `cannot tell whether Redis may evict keys: ${why}; every tagged hit keeps checking its tag registrations (one more command), as if it could`,
    );
  }
}
