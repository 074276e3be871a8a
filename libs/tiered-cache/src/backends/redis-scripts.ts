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

/** Adds a key to a tag set and makes the set live at least as long as that key. */
export const TAG_ADD = luaScript(`
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1`);

/**
 * Deletes keys and removes them from tag sets, atomically. KEYS: the tag sets. ARGV: the keys.
 * Returns how many keys existed.
 */
export const UNTAG = luaScript(`
local removed = 0
for i = 1, #ARGV do removed = removed + redis.call('UNLINK', ARGV[i]) end
for t = 1, #KEYS do redis.call('SREM', KEYS[t], unpack(ARGV)) end
return removed`);

/**
 * Compare-and-set write of redis-atomic: stores the entry only if the key's version and the
 * invalidation epoch are still the ones read before the value was computed.
 * KEYS: entry, version, epoch. ARGV: expected version, expected epoch, bytes, ttl ms.
 */
export const SET_IF_VERSION = luaScript(`
local v = redis.call('GET', KEYS[2]) or ''
local e = redis.call('GET', KEYS[3]) or ''
if v ~= ARGV[1] or e ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
return 1`);

/** Reads a key's version and the invalidation epoch in one round trip. KEYS: version, epoch. */
export const READ_VERSION = luaScript(`
return { redis.call('GET', KEYS[1]) or '', redis.call('GET', KEYS[2]) or '' }`);

/**
 * Deletes keys and bumps each key's version (even for absent keys), so that a compare-and-set
 * write computed before this delete cannot land after it. KEYS: entry/version pairs. ARGV: version ttl ms.
 */
export const DELETE_AND_BUMP = luaScript(`
local removed = 0
for i = 1, #KEYS, 2 do
  removed = removed + redis.call('UNLINK', KEYS[i])
  redis.call('INCR', KEYS[i + 1])
  redis.call('PEXPIRE', KEYS[i + 1], ARGV[1])
end
return removed`);

/** Releases a lease only if it is still held with the caller's token. KEYS: lease. ARGV: token. */
export const RELEASE_LEASE = luaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);
