import { RedisClusterHarness } from '../redis-cluster.harness.js';
import { respCommand } from '../resp-command.js';

describe('RedisClusterHarness', () => {
  let cluster: RedisClusterHarness;
  beforeAll(async () => {
    cluster = await RedisClusterHarness.start();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('forms 3 masters and 3 replicas, and a replica takes over a killed master', async () => {
    expect(await cluster.masterPorts()).toHaveLength(3);
    expect(cluster.nodes.every((n) => n.port !== 6379)).toBe(true);
    const key = 'harness-key';
    const port = await cluster.masterPortForKey(key);
    expect(await respCommand(port, ['SET', key, 'v'])).toBe('OK');
    await cluster.kill(port);
    const heir = await cluster.waitForFailover(port);
    expect(heir).not.toBe(port);
    expect(await cluster.masterPortForKey(key)).toBe(heir);
    // The old master comes back as a replica of its heir.
    await cluster.node(port).restart();
    await cluster.waitUntilOk();
    expect(await cluster.masterPorts()).toHaveLength(3);
  });
});
