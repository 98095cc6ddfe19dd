/**
 * Lua scripts run atomically inside Redis, so that replicas never race on a read-then-write.
 * Time comes from Redis (`TIME`), the one clock every replica shares.
 *
 * @module
 */

/** `now` in ms from Redis's clock; prepended to scripts that need it. */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * Token bucket. KEYS[1] the bucket hash; ARGV capacity, window (ms).
 * Returns `{allowed (0|1), retryAfterMs}`.
 */
export const TAKE_TOKEN = NOW + `
local cap = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local v = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(v[1]) or cap
local ts = tonumber(v[2]) or now
if now > ts then tokens = math.min(cap, tokens + (now - ts) * cap / window) end
local allowed = 0
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = math.max(1, math.ceil((1 - tokens) * window / cap))
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(math.max(now, ts)))
redis.call('PEXPIRE', KEYS[1], window * 2)
return {allowed, retry}
`;

/**
 * In-flight slot as a lease. KEYS[1] a sorted set of lease ids scored by expiry (ms);
 * ARGV max, lease ms, lease id. Expired leases are dropped first.
 * Returns `{acquired (0|1), held}`.
 */
export const ACQUIRE_SLOT = NOW + `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZCARD', KEYS[1])
if held >= tonumber(ARGV[1]) then return {0, held} end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return {1, held + 1}
`;

/**
 * Renews leases still held. KEYS the sets; ARGV lease ms, then one lease id per key.
 * A lease that already expired (and may have been counted out) is not revived.
 */
export const RENEW_SLOTS = NOW + `
local ttl = tonumber(ARGV[1])
local renewed = 0
for i, key in ipairs(KEYS) do
  local score = redis.call('ZSCORE', key, ARGV[i + 1])
  if score and tonumber(score) > now then
    redis.call('ZADD', key, 'XX', now + ttl, ARGV[i + 1])
    redis.call('PEXPIRE', key, ttl)
    renewed = renewed + 1
  end
end
return renewed
`;
