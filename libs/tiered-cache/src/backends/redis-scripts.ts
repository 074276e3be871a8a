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
  const state = loadState(client, script);
  const loadsBefore = state.loads;
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!isNoScript(err)) throw err;
  }
  // Sent before a load that has completed since: no need for another one.
  if (state.loads === loadsBefore) await loadScript(client, script, state);
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

/** Per client and script: the SCRIPT LOAD in flight, and how many have completed. */
interface LoadState {
  pending: Promise<void> | undefined;
  loads: number;
}

const states = new WeakMap<Redis | Cluster, Map<string, LoadState>>();

function loadState(client: Redis | Cluster, script: LuaScript): LoadState {
  let perClient = states.get(client);
  if (perClient === undefined) states.set(client, (perClient = new Map()));
  let state = perClient.get(script.sha);
  if (state === undefined) perClient.set(script.sha, (state = { pending: undefined, loads: 0 }));
  return state;
}

/** Loads a script on the node (every master of a cluster), once however many ask meanwhile. */
function loadScript(client: Redis | Cluster, script: LuaScript, state: LoadState): Promise<void> {
  if (state.pending !== undefined) return state.pending;
  const nodes: Redis[] = client instanceof Cluster ? client.nodes('master') : [client];
  // A master that cannot load it fails the calls routed to it, and only those.
  state.pending = Promise.allSettled(nodes.map((node) => node.script('LOAD', script.lua))).then(
    () => {
      state.pending = undefined;
      state.loads++;
    },
  );
  return state.pending;
}

/** Releases a lease only if it is still held with the caller's token. KEYS: lease. ARGV: token. */
export const RELEASE_LEASE = luaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);
