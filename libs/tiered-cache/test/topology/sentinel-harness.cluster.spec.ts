import { RedisSentinelTopology } from '../redis-sentinel-topology.harness.js';
import { respCommand } from '../resp-command.js';

describe('RedisSentinelTopology', () => {
  let topology: RedisSentinelTopology;
  beforeAll(async () => {
    topology = await RedisSentinelTopology.start();
  });
  afterAll(async () => {
    await topology?.stop();
  });

  it('fails over on SENTINEL FAILOVER (old master demoted) and after kill -9', async () => {
    const first = await topology.masterPort();
    await topology.failover();
    const second = await topology.waitForNewMaster(first);
    await topology.demote(first);
    await expect(respCommand(first, ['SET', 'k', 'v'])).rejects.toThrow(/READONLY/);
    await topology.server(second).kill();
    expect(await topology.waitForNewMaster(second)).toBe(first);
  });
});
