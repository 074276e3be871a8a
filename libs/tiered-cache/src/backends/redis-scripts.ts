import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/** A Lua script and its SHA1, run with EVALSHA and loaded on NOSCRIPT. */
export interface LuaScript {
  readonly lua: string;
  readonly sha: string;
}

/** Declares a Lua script. */
export function luaScript(lua: string): LuaScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/** Runs a script by SHA, falling back to EVAL once when the server does not have it cached. */
export async function runScript(
  client: Redis | Cluster,
  script: LuaScript,
  keys: readonly string[],
  args: ReadonlyArray<string | number | Buffer>,
): Promise<unknown> {
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return client.eval(script.lua, keys.length, ...keys, ...args);
  }
}

/** Releases a lease only if it is still held with the caller's token. KEYS: lease. ARGV: token. */
export const RELEASE_LEASE = luaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);
