import { createHash } from 'node:crypto';
import { Cluster, type Redis } from 'ioredis';

/** A Lua script and its SHA1, run with EVALSHA and loaded on NOSCRIPT. */
export interface LuaScript {
  readonly lua: string;
  readonly sha: string;
}

/** Declares a Lua script. */
export function luaScript(lua: string): LuaScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/**
 * Runs a script by SHA (EVALSHA). A node that does not have it (NOSCRIPT: a cold or restarted
 * node, a promoted replica) gets it with one SCRIPT LOAD, shared by every call that found it
 * missing meanwhile (on a cluster, one per master), and the call is made again; EVAL (which sends
 * the whole script) only if the script is missing again right after being loaded.
 */
export async function runScript(
  client: Redis | Cluster,
  script: LuaScript,
  keys: readonly string[],
  args: ReadonlyArray<string | number | Buffer>,
): Promise<unknown> {
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!isNoScript(err)) throw err;
  }
  await loadScript(client, script);
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!isNoScript(err)) throw err;
    return client.eval(script.lua, keys.length, ...keys, ...args);
  }
}

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

/** The SCRIPT LOADs in flight, per client and script SHA. */
const loading = new WeakMap<Redis | Cluster, Map<string, Promise<void>>>();

/** Loads a script on the node (every master of a cluster), once however many ask meanwhile. */
function loadScript(client: Redis | Cluster, script: LuaScript): Promise<void> {
  let inFlight = loading.get(client);
  if (inFlight === undefined) loading.set(client, (inFlight = new Map()));
  const pending = inFlight.get(script.sha);
  if (pending !== undefined) return pending;
  const nodes: Redis[] = client instanceof Cluster ? client.nodes('master') : [client];
  // A master that cannot load it fails the calls routed to it, and only those.
  const load = Promise.allSettled(nodes.map((node) => node.script('LOAD', script.lua)))
    .then(() => undefined)
    .finally(() => inFlight.delete(script.sha));
  inFlight.set(script.sha, load);
  return load;
}

/** Releases a lease only if it is still held with the caller's token. KEYS: lease. ARGV: token. */
export const RELEASE_LEASE = luaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);
