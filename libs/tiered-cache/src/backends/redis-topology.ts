import { Cluster, type Redis } from 'ioredis';
import type { StoreTopology } from '../core/store-topology.js';
import { masterOfKey, slotMasters } from './redis-cluster.js';
import { redisKeyOf } from './redis-keys.js';

/** {@link slotMasters} of a client that knows no slot map yet. */
const NO_SLOT_MAP = '0=-';

/**
 * What a Redis store tells its tier about the servers behind it (see `core/store-topology.ts`). On
 * a cluster, the master a key's slot is on now (the tier keeps a circuit breaker per master, see
 * `core/tier-breakers.ts`). Changes: every (re)connection (a possible change of server through
 * Sentinel), and on a cluster every slot map refresh (each second; a change of server when a
 * slot's master changed), so that a tier replays what it missed, and what the old server may have
 * lost, as soon as a failover is over.
 */
export function redisTopology(client: Redis | Cluster): StoreTopology {
  if (!(client instanceof Cluster)) {
    // Through Sentinel a reconnection may land on another server (a failover); to a single
    // node it lands on the same one, which lost nothing it acknowledged unless it restarted.
    const sentinel = (client.options.sentinels?.length ?? 0) > 0;
    return {
      onChange: (listener) => {
        let before = client.status === 'ready'; // the first connection changes nothing
        const ready = () => {
          listener(sentinel && before);
          before = true;
        };
        client.on('ready', ready);
        return () => client.off('ready', ready);
      },
    };
  }
  return {
    scopeOf: (key: string) => masterOfKey(client, redisKeyOf(key)),
    onChange: (listener) => {
      let masters = slotMasters(client);
      const refreshed = () => {
        const now = slotMasters(client);
        // The first slot map the client learns is no change of server.
        const changed = now !== masters && masters !== NO_SLOT_MAP;
        masters = now;
        listener(changed);
      };
      client.on('refresh', refreshed);
      return () => client.off('refresh', refreshed);
    },
  };
}
