/**
 * Lua scripts of the shared read cache (see `read_cache.ts`), each one atomic inside Redis:
 * a look-up reads the entry and its group's write epoch in one step, a store checks the epoch
 * and the tenant's caps in one step, so no replica ever keeps or serves a read that a write
 * (through any replica) has voided. Time is Redis's (`TIME`).
 *
 * Keys of a write group: its epoch (a counter, `INCR`ed when a write starts and when it ends)
 * and its writes (a sorted set of write ids scored by the time until which they keep the
 * group's cache off: in flight, then `unsettledMs` after a write its server did not answer).
 * Keys of a tenant: its entries (`<entry prefix><member>`: `"<epoch>:<sealed result>"` with a
 * PX expiry), its index (a sorted set of members scored by expiry time, ms) and its sizes (a
 * hash of member → bytes as stored, and `_` → their sum).
 *
 * Look-ups, epochs and writes' registrations run when Redis is full (`allow-oom`: they delete,
 * or write a few bytes per write group), so a write still voids every replica's reads then;
 * only keeping a result (`CACHE_PUT`) is refused.
 *
 * @module
 */

import { ALLOW_OOM, DENY_OOM, NOW } from "./scripts.ts";

/**
 * `epochOf(key)`: a group's epoch, created at Redis's time in ms × 1024 when there is none, so
 * that a Redis restarted empty never hands out an epoch a replica saw before the restart (a
 * result fetched then is never kept under the same number after it).
 */
const EPOCH = `
local function epochOf(key)
  local v = redis.call('GET', key)
  if v then return tonumber(v) end
  local e = string.format('%.0f', now * 1024)
  redis.call('SET', key, e)
  return tonumber(e)
end
`;

/** Drops the group's writes that keep the cache off no more; `writing` true when some do. */
const WRITES = EPOCH + `
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local writing = redis.call('ZCARD', KEYS[3]) > 0
local epoch = epochOf(KEYS[2])
`;

/** `drop(member)`: removes one entry of the tenant and its accounting (KEYS[4], KEYS[5]). */
const DROP = `
local function drop(m, prefix)
  local s = redis.call('HGET', KEYS[5], m)
  if s then
    redis.call('HDEL', KEYS[5], m)
    redis.call('HINCRBY', KEYS[5], '_', -tonumber(s))
  end
  redis.call('ZREM', KEYS[4], m)
  redis.call('DEL', prefix .. m)
end
`;

/**
 * Looks an entry up. KEYS[1] the entry, KEYS[2] the group's epoch, KEYS[3] the group's writes,
 * KEYS[4] the tenant's index, KEYS[5] the tenant's sizes; ARGV member, entry key prefix.
 * Returns `{writing (0|1), epoch, sealed or ''}`: the sealed result only when it was kept
 * under the current epoch and no write of the group keeps the cache off. An entry of an older
 * epoch is deleted.
 */
export const CACHE_LOOKUP = ALLOW_OOM + NOW + WRITES + DROP + `
local stored = redis.call('GET', KEYS[1])
if not stored then return {writing and 1 or 0, epoch, ''} end
local colon = string.find(stored, ':', 1, true)
if tonumber(string.sub(stored, 1, colon - 1)) ~= epoch then
  drop(ARGV[1], ARGV[2])
  return {writing and 1 or 0, epoch, ''}
end
if writing then return {1, epoch, ''} end
return {0, epoch, string.sub(stored, colon + 1)}
`;

/**
 * The group's epoch. KEYS[2] the epoch, KEYS[3] the writes (KEYS[1] unused: pass the epoch twice).
 * Returns `{writing (0|1), epoch}`.
 */
export const CACHE_EPOCH = ALLOW_OOM + NOW + WRITES + `
return {writing and 1 or 0, epoch}
`;

/**
 * Keeps an entry when it was fetched under the group's current epoch and no write keeps the
 * cache off. KEYS as {@linkcode CACHE_LOOKUP}; ARGV member, entry key prefix, epoch, sealed,
 * ttl (ms), max entries of the tenant, max bytes of the tenant. Expired entries of the tenant
 * are dropped first; then, to make room, the entries that expire soonest (the least recently
 * written: a tenant's entries share its TTL). Returns -1 when not kept (voided, or larger than
 * the tenant's whole byte cap), else how many entries were evicted.
 */
export const CACHE_PUT = DENY_OOM + NOW + WRITES + DROP + `
if writing or epoch ~= tonumber(ARGV[3]) then return -1 end
local size = #ARGV[4]
local ttl = tonumber(ARGV[5])
local maxE = tonumber(ARGV[6])
local maxB = tonumber(ARGV[7])
if size > maxB or maxE < 1 then return -1 end
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now)) do drop(m, ARGV[2]) end
drop(ARGV[1], ARGV[2])
local evicted = 0
while redis.call('ZCARD', KEYS[4]) + 1 > maxE or
    tonumber(redis.call('HGET', KEYS[5], '_') or '0') + size > maxB do
  local oldest = redis.call('ZRANGE', KEYS[4], 0, 0)
  if #oldest == 0 then break end
  drop(oldest[1], ARGV[2])
  evicted = evicted + 1
end
redis.call('SET', KEYS[1], ARGV[3] .. ':' .. ARGV[4], 'PX', ttl)
-- Strictly above the newest score: entries kept within one millisecond keep their order (a tie
-- would be broken by the member's bytes, an HMAC: evicting at random among them).
local score = now + ttl
local top = redis.call('ZREVRANGE', KEYS[4], 0, 0, 'WITHSCORES')
if top[2] and tonumber(top[2]) >= score then score = tonumber(top[2]) + 0.001 end
redis.call('ZADD', KEYS[4], score, ARGV[1])
redis.call('HSET', KEYS[5], ARGV[1], size)
redis.call('HINCRBY', KEYS[5], '_', size)
for _, k in ipairs({KEYS[4], KEYS[5]}) do
  if redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end
end
return evicted
`;

/**
 * Registrations kept per write group (in flight or unanswered within their hold); past it a
 * write extends the group's one overflow member instead (`_many`), which keeps the cache off
 * until the latest of those writes' holds: as conservative (no read of the group is kept or
 * served meanwhile), and O(1) in memory. Writes carry no tenant, so the cap is per group: one
 * tenant's burst sends the others' writes to the overflow too, which only keeps the cache off
 * longer (any write of a group already holds every tenant's reads of it).
 */
export const MAX_WRITES_PER_GROUP = 128;

/**
 * `hold(key, id, ms)`: keeps the group's cache off `ms` from now for write `id`, as its own
 * member while the group has room, else through the overflow member (never shortened).
 */
const HOLD = `
local function hold(key, id, ms)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local till = now + ms
  if not redis.call('ZSCORE', key, id) and
      redis.call('ZCARD', key) >= ${MAX_WRITES_PER_GROUP} then
    id = '_many'
    local cur = tonumber(redis.call('ZSCORE', key, id) or '0')
    if cur > till then till = cur end
  end
  redis.call('ZADD', key, till, id)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end
`;

/**
 * A write starts. KEYS[1] the group's epoch, KEYS[2] its writes; ARGV write id, how long it
 * may keep the cache off at most (ms: its call's timeout plus the unsettled time, so a replica
 * that dies mid-write cannot keep it off for ever). Bumps the epoch. Past
 * {@linkcode MAX_WRITES_PER_GROUP} registrations, the write holds through the overflow member
 * (then its end cannot lift its hold early: the group's cache stays off for the whole hold).
 * Returns the new epoch.
 */
export const WRITE_BEGIN = ALLOW_OOM + NOW + EPOCH + HOLD + `
epochOf(KEYS[1])
hold(KEYS[2], ARGV[1], tonumber(ARGV[2]))
return redis.call('INCR', KEYS[1])
`;

/**
 * A write ends. KEYS as {@linkcode WRITE_BEGIN}; ARGV write id, answered (0|1), unsettled ms.
 * Bumps the epoch; an answered write stops keeping the cache off, an unanswered one keeps it
 * off `unsettled` ms more (it may still land; as {@linkcode WRITE_BEGIN}, through the overflow
 * member past the cap). Returns the new epoch.
 */
export const WRITE_END = ALLOW_OOM + NOW + EPOCH + HOLD + `
epochOf(KEYS[1])
if ARGV[2] == '1' then
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  hold(KEYS[2], ARGV[1], tonumber(ARGV[3]))
end
return redis.call('INCR', KEYS[1])
`;
