import { RedisSentinelHarness, SENTINEL_MASTER_NAME } from './redis-sentinel.harness.js';
import { RedisServerHarness } from './redis-server.harness.js';
import { respCommand } from './resp-command.js';
import { waitFor } from './wait-for.js';

/** Options of {@link RedisSentinelTopology.start}. */
export interface SentinelTopologyOptions {
  /** How long the master may be unreachable before the sentinels fail it over (default 1000 ms). */
  downAfterMs?: number;
  /** Replicas of the master (default 1). */
  replicas?: number;
}

/**
 * One master, one replica (or `replicas`) and three sentinels (quorum 2) on free loopback ports, for tests of
 * failovers through Sentinel: the master can be killed (SIGKILL), paused (SIGSTOP) or failed
 * over on request (`SENTINEL FAILOVER`, which demotes the old master to a replica). `stop` ends
 * every process and removes its files.
 */
export class RedisSentinelTopology {
  private constructor(
    /** The two data nodes, the first master at the start (roles change with failovers). */
    readonly servers: RedisServerHarness[],
    readonly sentinels: RedisSentinelHarness[],
  ) {}

  static async start(options: SentinelTopologyOptions = {}): Promise<RedisSentinelTopology> {
    const servers: RedisServerHarness[] = [];
    const sentinels: RedisSentinelHarness[] = [];
    const topology = new RedisSentinelTopology(servers, sentinels);
    try {
      servers.push(await RedisServerHarness.start());
      const master = servers[0]!;
      const replicas = options.replicas ?? 1;
      servers.push(
        ...(await Promise.all(
          Array.from({ length: replicas }, () =>
            RedisServerHarness.start(['--replicaof', '127.0.0.1', String(master.port)]),
          ),
        )),
      );
      for (const replica of servers.slice(1)) await topology.waitForReplica(replica.port);
      const sentinelOptions = {
        quorum: 2,
        downAfterMs: options.downAfterMs ?? 1000,
        failoverTimeoutMs: 3_000,
      };
      sentinels.push(
        ...(await Promise.all(
          [0, 1, 2].map(() => RedisSentinelHarness.start(master.port, sentinelOptions)),
        )),
      );
      // The sentinels find each other and the replica through the master (hello messages every
      // 2 s, INFO every 10 s at first); a failover needs both.
      await waitFor(
        async () => {
          for (const sentinel of sentinels) {
            const fields = await sentinelMaster(sentinel.port);
            if (fields['num-other-sentinels'] !== '2' || fields['num-slaves'] !== String(replicas))
              return false;
          }
          return true;
        },
        'every sentinel knows the two others and the replicas',
        20_000,
        50,
      );
      return topology;
    } catch (err) {
      await topology.stop();
      throw err;
    }
  }

  /** The sentinels' addresses, for a client's `sentinels` option. */
  get sentinelAddresses(): { host: string; port: number }[] {
    return this.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port }));
  }

  /** The master's port as the first running sentinel names it. */
  async masterPort(): Promise<number> {
    const sentinel = this.sentinels.find((s) => s.running)!;
    const reply = await respCommand(sentinel.port, [
      'SENTINEL',
      'get-master-addr-by-name',
      SENTINEL_MASTER_NAME,
    ]);
    return Number((reply as string[])[1]);
  }

  /** The server on `port`. */
  server(port: number): RedisServerHarness {
    const server = this.servers.find((s) => s.port === port);
    if (server === undefined) throw new Error(`no server on port ${port}`);
    return server;
  }

  /** `SENTINEL FAILOVER`: the replica is promoted and the old master demoted to its replica. */
  async failover(): Promise<void> {
    await respCommand(this.sentinels[0]!.port, ['SENTINEL', 'FAILOVER', SENTINEL_MASTER_NAME]);
  }

  /**
   * Resolves, with the new master's port, once every sentinel names a master other than
   * `oldPort` and that server reports `role:master`. Polls (the failover happens elsewhere).
   */
  async waitForNewMaster(oldPort: number, timeoutMs = 20_000): Promise<number> {
    let port = 0;
    await waitFor(
      async () => {
        const named = new Set<number>();
        for (const sentinel of this.sentinels.filter((s) => s.running)) {
          const reply = await respCommand(sentinel.port, [
            'SENTINEL',
            'get-master-addr-by-name',
            SENTINEL_MASTER_NAME,
          ]);
          named.add(Number((reply as string[])[1]));
        }
        if (named.size !== 1 || named.has(oldPort)) return false;
        port = [...named][0]!;
        const info = String(await respCommand(port, ['INFO', 'replication']));
        return info.includes('role:master');
      },
      `the sentinels promote a master other than ${oldPort}`,
      timeoutMs,
      25,
    );
    return port;
  }

  /**
   * Demotes the old master on `port` to a replica of the current master at once, as the
   * sentinels do on their own 10 to 20 s after a failover (they check a master's role every
   * 10 s, and wait 8 s before correcting it); resolves once it is an in-sync replica.
   */
  async demote(port: number): Promise<void> {
    const master = await this.masterPort();
    await respCommand(port, ['REPLICAOF', '127.0.0.1', master]);
    await this.waitForReplica(port);
  }

  /** Resolves once the server on `port` is a replica in sync with the current master. */
  async waitForReplica(port: number, timeoutMs = 20_000): Promise<void> {
    await waitFor(
      async () => {
        try {
          const info = String(await respCommand(port, ['INFO', 'replication']));
          return info.includes('role:slave') && info.includes('master_link_status:up');
        } catch {
          return false;
        }
      },
      `the server on ${port} is an in-sync replica`,
      timeoutMs,
      25,
    );
  }

  /** Stops every sentinel and server and removes their folders. Safe to call twice. */
  async stop(): Promise<void> {
    await Promise.all(this.sentinels.map((s) => s.stop()));
    await Promise.all(this.servers.map((s) => s.stop()));
  }
}

async function sentinelMaster(port: number): Promise<Record<string, string>> {
  try {
    const reply = (await respCommand(port, [
      'SENTINEL',
      'MASTER',
      SENTINEL_MASTER_NAME,
    ])) as string[];
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) fields[reply[i]!] = reply[i + 1]!;
    return fields;
  } catch {
    return {};
  }
}
