import type { Redis } from 'ioredis';
import type { Child } from '../infra/processes.js';
import type { BenchRedis } from '../infra/redis-server.js';

/** How an instance's bus is set up: tracking (the default), pub/sub (`tracking: false`) or off. */
export type BusSetting = 'tracking' | 'pubsub' | 'off';

/** Opens an instance's app and checks that its bus runs as asked. */
export async function openApp(
  worker: Child,
  redis: BenchRedis,
  namespace: string,
  bus: BusSetting,
) {
  const state = await worker.call<{ mode: string; connected: boolean } | undefined>('open', {
    url: redis.url,
    namespace,
    bus,
  });
  const ok = bus === 'off' ? state === undefined : state?.mode === bus && state.connected;
  if (!ok)
    throw new Error(
      `coherence: ${worker.label} asked for bus ${bus}, got ${JSON.stringify(state)}`,
    );
}

/** The redis-server's CPU time so far (user + system), in ms, read through `client`. */
export async function redisCpuMs(client: Redis): Promise<number> {
  const info = await client.info('cpu');
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
}
