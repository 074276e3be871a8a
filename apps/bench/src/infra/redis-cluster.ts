import { spawn } from 'node:child_process';
import { Cluster } from 'ioredis';
import { BenchRedis, freePort } from './redis-server.js';

/**
 * A throwaway Redis Cluster of `masters` masters and no replicas (the throughput row compares the
 * client's work, not replication), each a {@link BenchRedis} with `--cluster-enabled yes` on free
 * loopback ports (client and cluster bus), joined with `redis-cli --cluster create`.
 */
export class BenchCluster {
  private constructor(readonly nodes: BenchRedis[]) {}

  static async start(masters = 3): Promise<BenchCluster> {
    const nodes: BenchRedis[] = [];
    const cluster = new BenchCluster(nodes);
    try {
      for (let i = 0; i < masters; i++) {
        nodes.push(
          await BenchRedis.start([
            '--cluster-enabled',
            'yes',
            '--cluster-port',
            String(await freePort()),
            '--cluster-config-file',
            'nodes.conf',
          ]),
        );
      }
      await create(nodes.map((n) => `127.0.0.1:${n.port}`));
      await cluster.waitUntilOk();
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  /** `redis-cluster://host:port,host:port,...`: how the library workers are told the nodes. */
  get url(): string {
    return `redis-cluster://${this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }

  private async waitUntilOk(): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (const node of this.nodes) {
      const client = node.client();
      try {
        for (;;) {
          const info = String(await client.call('CLUSTER', 'INFO'));
          if (info.includes('cluster_state:ok')) break;
          if (Date.now() > deadline)
            throw new Error('the bench cluster did not reach cluster_state:ok');
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        client.disconnect();
      }
    }
  }
}

/** The nodes of a `redis-cluster://` URL (see {@link BenchCluster.url}). */
export function clusterNodes(url: string): { host: string; port: number }[] {
  return url
    .replace(/^redis-cluster:\/\//, '')
    .split(',')
    .map((address) => {
      const [host, port] = address.split(':');
      return { host: host!, port: Number(port) };
    });
}

/** A plain ioredis Cluster client on a `redis-cluster://` URL. */
export function clusterClient(url: string): Cluster {
  return new Cluster(clusterNodes(url), { enableAutoPipelining: true });
}

function create(addresses: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'redis-cli',
      ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`redis-cli --cluster create failed: ${output}`)),
    );
  });
}
