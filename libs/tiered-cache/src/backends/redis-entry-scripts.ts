import { luaScript } from './redis-scripts.js';

/**
 * The scripts of the key layout of `redis-keys.ts`. Each touches the keys of one hash slot only
 * (an entry and its bookkeeping, or one tag set, or one `inflight` set), so they run on a Redis
 * Cluster as on a single node. Times are the server's (`TIME`, in ms).
 */

const NOW = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)`;

/**
 * Compare-and-set write of `redis-atomic`. KEYS: entry, tag list, version. ARGV: expected version,
 * bytes, 'px' or 'at', ms (a TTL, or an expiry in epoch ms), tag list ('' for none). Writes the
 * entry and its tag list only if the version is still the expected one, then deletes the version
 * (a computation that read the same one no longer stores). Returns the tag list replaced ('' when
 * none), or nil when not written. (Entries are otherwise written and deleted with plain commands:
 * see `RedisStore.setBytes`.)
 */
export const WRITE_IF_VERSION = luaScript(`
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return false end
local old = redis.call('GET', KEYS[2])
if ARGV[3] == 'at' then
  redis.call('SET', KEYS[1], ARGV[2])
  redis.call('PEXPIREAT', KEYS[1], ARGV[4])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
end
if ARGV[5] == '' then
  if old then redis.call('DEL', KEYS[2]) end
elseif ARGV[3] == 'at' then
  redis.call('SET', KEYS[2], ARGV[5])
  redis.call('PEXPIREAT', KEYS[2], ARGV[4])
else
  redis.call('SET', KEYS[2], ARGV[5], 'PX', ARGV[4])
end
redis.call('DEL', KEYS[3])
return old or ''`);

/**
 * Whether member ARGV[1] is in every sorted set of KEYS (tag sets of one hash slot): 1 or 0. One
 * command instead of one ZSCORE per tag; it writes nothing, so Redis runs it at `maxmemory` too.
 */
export const ALL_REGISTERED = luaScript(`
for i = 1, #KEYS do
  if not redis.call('ZSCORE', KEYS[i], ARGV[1]) then return 0 end
end
return 1`);

/**
 * Deletes an entry whose tag registrations were lost, only if it still holds the bytes that were
 * checked: a write that replaced it meanwhile is kept. KEYS: entry, tag list. ARGV: SHA-1 (hex) of
 * the bytes checked. Returns the tag list deleted ('' when none), or nil when the entry changed.
 */
export const DROP_UNREGISTERED = luaScript(`
local bytes = redis.call('GET', KEYS[1])
if not bytes or redis.sha1hex(bytes) ~= ARGV[1] then return false end
local list = redis.call('GET', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[2])
return list or ''`);

/** Drops the members of a sorted set scored at or before now; the set then expires with its last. */
const PRUNE = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', KEYS[1], last[2]) end`;

/**
 * Registers a write in a tag set (KEYS[1]): member ARGV[1] (`<token><key>`), scored by its expiry,
 * now + ARGV[2] ms. Expired members are dropped and the set expires with its longest-lived member.
 * Returns now, from which the caller sets the entry's own expiry.
 */
export const TAG_REGISTER = luaScript(`${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return now`);

/** Removes members (ARGV) from a tag set (KEYS[1]), prunes it and re-aligns its expiry. */
export const TAG_UNREGISTER = luaScript(`
redis.call('ZREM', KEYS[1], unpack(ARGV))
${PRUNE}
return 1`);

/** Prunes a tag set (KEYS[1]) before it is read; returns how many members it has left. */
export const TAG_PRUNE = luaScript(`${PRUNE}
return redis.call('ZCARD', KEYS[1])`);

/**
 * Registers an at-least-once computation (ARGV[1], `<token><key>`) in an `inflight` set (KEYS[1])
 * until now + ARGV[2] ms; drops expired registrations; the set expires with its last one.
 */
export const INFLIGHT_ADD = luaScript(`${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`);

/** The computations registered in an `inflight` set (KEYS[1]), expired ones dropped first. */
export const INFLIGHT_READ = luaScript(`${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)`);

/**
 * The version of an entry (KEYS[1]) for an at-least-once computation: the current one, or ARGV[1]
 * made current for ARGV[2] ms when there is none.
 */
export const READ_VERSION = luaScript(`
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]`);
