import { spawn } from 'node:child_process';
import { freePort, RedisServerHarness } from './redis-server.harness.js';
import { respCommand } from './resp-command.js';
import { waitFor } from './wait-for.js';

/** Options of {@link RedisClusterHarness.start}. */
export interface ClusterHarnessOptions {
  /** Masters (default 3). */
  masters?: number;
  /** Replicas per master (default 1). */
  replicasPerMaster?: number;
  /**
   * `cluster-node-timeout` in ms (default 1000): how long a master may be unreachable before the
   * cluster marks it failed and a replica takes over.
   */
  nodeTimeoutMs?: number;
}

/** One node as the cluster sees it (a line of CLUSTER NODES). */
export interface ClusterNodeInfo {
  id: string;
  port: number;
  role: 'master' | 'replica';
  /** The node is flagged `fail` or `fail?`, or has no address. */
  failing: boolean;
  /** For a replica, the id of its master. */
  masterId: string | undefined;
  /** The slot ranges a master serves, as [first, last]. */
  slots: [number, number][];
}

const SLOTS = 16384;

/**
 * A Redis Cluster for tests: `masters` masters and `replicasPerMaster` replicas each, private
 * `redis-server --cluster-enabled yes` processes on free loopback ports (client and cluster-bus
 * ports both chosen free), joined with `redis-cli --cluster create`. Every node can be killed
 * (SIGKILL), paused (SIGSTOP), resumed and restarted (it rejoins with its saved node id, as a
 * replica once a replica took over its slots). `stop` ends every process and removes its files.
 */
export class RedisClusterHarness {
  private constructor(
    /** Every node, masters first in creation order (roles change with failovers). */
    readonly nodes: RedisServerHarness[],
    readonly nodeTimeoutMs: number,
  ) {}

  static async start(options: ClusterHarnessOptions = {}): Promise<RedisClusterHarness> {
    const masters = options.masters ?? 3;
    const replicas = options.replicasPerMaster ?? 1;
    const nodeTimeoutMs = options.nodeTimeoutMs ?? 1000;
    const nodes: RedisServerHarness[] = [];
    const harness = new RedisClusterHarness(nodes, nodeTimeoutMs);
    try {
      const started = await Promise.all(
        Array.from({ length: masters * (1 + replicas) }, () => startNode(nodeTimeoutMs)),
      );
      nodes.push(...started);
      await createCluster(
        nodes.map((n) => n.port),
        replicas,
      );
      await harness.waitUntilHealthy(masters, replicas, 20_000);
      return harness;
    } catch (err) {
      await harness.stop();
      throw err;
    }
  }

  /** The nodes to give a cluster client (`[{ host, port }]`, every node). */
  get startupNodes(): { host: string; port: number }[] {
    return this.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  }

  /** The node listening on `port`. */
  node(port: number): RedisServerHarness {
    const node = this.nodes.find((n) => n.port === port);
    if (node === undefined) throw new Error(`no cluster node on port ${port}`);
    return node;
  }

  /** The cluster as one running node sees it (CLUSTER NODES). */
  async view(port?: number): Promise<ClusterNodeInfo[]> {
    const from = port ?? this.nodes.find((n) => n.running)!.port;
    return parseClusterNodes(String(await respCommand(from, ['CLUSTER', 'NODES'])));
  }

  /** The port of the master serving `key`'s slot, as a running node sees it. */
  async masterPortForKey(key: string): Promise<number> {
    const from = this.nodes.find((n) => n.running)!.port;
    const slot = Number(await respCommand(from, ['CLUSTER', 'KEYSLOT', key]));
    const master = (await this.view(from)).find(
      (n) => n.role === 'master' && !n.failing && n.slots.some(([a, b]) => slot >= a && slot <= b),
    );
    if (master === undefined) throw new Error(`no live master serves slot ${slot}`);
    return master.port;
  }

  /** The ports of the live masters, as a running node sees them. */
  async masterPorts(): Promise<number[]> {
    return (await this.view())
      .filter((n) => n.role === 'master' && !n.failing && n.slots.length > 0)
      .map((n) => n.port);
  }

  /** The port of a live master that has a live replica (one that can be failed over). */
  async masterWithReplica(): Promise<number> {
    const view = await this.view();
    const master = view.find(
      (m) =>
        m.role === 'master' &&
        !m.failing &&
        m.slots.length > 0 &&
        view.some((r) => r.role === 'replica' && !r.failing && r.masterId === m.id),
    );
    if (master === undefined) throw new Error('no master has a live replica');
    return master.port;
  }

  /**
   * `count` keys `<prefix><n>` whose slots the master on `port` serves, as Redis hashes
   * `<keyPrefix><key>` (a cache's keys are `<namespace>:<key>` in Redis).
   */
  async keysOn(port: number, count: number, prefix: string, keyPrefix = ''): Promise<string[]> {
    const ranges = (await this.view()).find((n) => n.port === port)?.slots ?? [];
    const keys: string[] = [];
    for (let n = 0; keys.length < count && n < 100_000; n += 32) {
      const candidates = Array.from({ length: 32 }, (_, i) => `${prefix}${n + i}`);
      const slots = await Promise.all(
        candidates.map((key) => respCommand(port, ['CLUSTER', 'KEYSLOT', keyPrefix + key])),
      );
      candidates.forEach((key, i) => {
        const slot = Number(slots[i]);
        if (keys.length < count && ranges.some(([a, b]) => slot >= a && slot <= b)) keys.push(key);
      });
    }
    if (keys.length < count) throw new Error(`not enough keys with prefix ${prefix} on ${port}`);
    return keys;
  }

  /** kill -9 of the node on `port` (its slots are remembered for {@link waitForFailover}). */
  async kill(port: number): Promise<void> {
    await this.rememberSlots(port);
    await this.node(port).kill();
  }

  /** SIGSTOP of the node on `port` (its slots are remembered for {@link waitForFailover}). */
  async pause(port: number): Promise<void> {
    await this.rememberSlots(port);
    this.node(port).pause();
  }

  /**
   * Resolves, with the port of its heir, once another master serves every slot the master on
   * `port` had when it was killed or paused, and every other running node reports
   * `cluster_state:ok` and sees every slot served by a live master other than `port`. Polls the
   * servers (the failover happens in other processes; nothing can be awaited).
   */
  async waitForFailover(port: number, timeoutMs = 15_000): Promise<number> {
    const slots = this.slotsBefore.get(port);
    if (slots === undefined || slots.length === 0)
      throw new Error(`the node on ${port} served no slot when it was killed or paused`);
    let heir = 0;
    await waitFor(
      async () => {
        for (const node of this.nodes.filter((n) => n.running && n.port !== port)) {
          if (!(await clusterOk(node.port))) return false;
          const masters = (await this.view(node.port)).filter(
            (n) => n.role === 'master' && !n.failing && n.port !== port,
          );
          if (covered(masters) !== SLOTS) return false;
          const first = slots[0]![0];
          heir = masters.find((m) => m.slots.some(([a, b]) => first >= a && first <= b))!.port;
        }
        return true;
      },
      `a replica takes over the slots of the master on ${port}`,
      timeoutMs,
      25,
    );
    return heir;
  }

  /** Resolves once every running node reports `cluster_state:ok`. */
  async waitUntilOk(timeoutMs = 15_000): Promise<void> {
    await waitFor(
      async () => {
        for (const node of this.nodes.filter((n) => n.running))
          if (!(await clusterOk(node.port))) return false;
        return true;
      },
      'every running cluster node reports cluster_state:ok',
      timeoutMs,
      25,
    );
  }

  /** Stops every node and removes their folders. Safe to call twice. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }

  private readonly slotsBefore = new Map<number, [number, number][]>();

  private async rememberSlots(port: number): Promise<void> {
    const self = (await this.view(port)).find((n) => n.port === port);
    this.slotsBefore.set(port, self?.slots ?? []);
  }

  private async waitUntilHealthy(masters: number, replicas: number, timeoutMs: number) {
    await waitFor(
      async () => {
        for (const node of this.nodes) {
          if (!(await clusterOk(node.port))) return false;
          const view = await this.view(node.port);
          const live = view.filter((n) => !n.failing);
          const masterNodes = live.filter((n) => n.role === 'master' && n.slots.length > 0);
          if (masterNodes.length !== masters || covered(masterNodes) !== SLOTS) return false;
          if (live.filter((n) => n.role === 'replica').length !== masters * replicas) return false;
        }
        // Replicas in sync, so that any of them can take over at once.
        for (const node of this.nodes) {
          const info = String(await respCommand(node.port, ['INFO', 'replication']));
          if (info.includes('role:slave') && !info.includes('master_link_status:up')) return false;
        }
        return true;
      },
      'the cluster is formed (cluster_state:ok, every slot served, replicas in sync on every node)',
      timeoutMs,
      25,
    );
  }
}

async function startNode(nodeTimeoutMs: number): Promise<RedisServerHarness> {
  for (let attempt = 0; ; attempt++) {
    const busPort = await freePort();
    try {
      return await RedisServerHarness.start([
        '--cluster-enabled',
        'yes',
        '--cluster-port',
        String(busPort),
        '--cluster-config-file',
        'nodes.conf',
        '--cluster-node-timeout',
        String(nodeTimeoutMs),
        // Any replica may take over, however long since it last heard from its master.
        '--cluster-replica-validity-factor',
        '0',
      ]);
    } catch (err) {
      if (attempt >= 4) throw err;
    }
  }
}

/** `redis-cli --cluster create ... --cluster-replicas N --cluster-yes`. */
async function createCluster(ports: number[], replicas: number): Promise<void> {
  const args = [
    '--cluster',
    'create',
    ...ports.map((p) => `127.0.0.1:${p}`),
    '--cluster-replicas',
    String(replicas),
    '--cluster-yes',
  ];
  await new Promise<void>((resolve, reject) => {
    const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 && output.includes('[OK] All 16384 slots covered')
        ? resolve()
        : reject(new Error(`redis-cli --cluster create failed (exit ${code}): ${output}`)),
    );
  });
}

async function clusterOk(port: number): Promise<boolean> {
  try {
    return String(await respCommand(port, ['CLUSTER', 'INFO'])).includes('cluster_state:ok');
  } catch {
    return false;
  }
}

/** How many slots the nodes serve between them. */
function covered(masters: readonly ClusterNodeInfo[]): number {
  return masters.reduce((sum, n) => sum + n.slots.reduce((s, [a, b]) => s + b - a + 1, 0), 0);
}

/** Parses CLUSTER NODES (`<id> <ip:port@cport> <flags> <master> ... <slots>`). */
export function parseClusterNodes(text: string): ClusterNodeInfo[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id, address, flags, master, , , , , ...slots] = line.split(' ');
      const flagList = flags!.split(',');
      return {
        id: id!,
        port: Number(address!.split('@')[0]!.split(':')[1]),
        role: flagList.includes('master') ? 'master' : 'replica',
        failing: flagList.some((f) => f === 'fail' || f === 'fail?' || f === 'noaddr'),
        masterId: master === '-' ? undefined : master,
        slots: slots
          .filter((s) => !s.startsWith('['))
          .map((s) => {
            const [a, b] = s.split('-').map(Number);
            return [a!, b ?? a!] as [number, number];
          }),
      } satisfies ClusterNodeInfo;
    });
}
