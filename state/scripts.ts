/**
 * Lua scripts run atomically inside Redis, so that replicas never race on a read-then-write.
 * Time comes from Redis (`TIME`), the one clock every replica shares.
 *
 * @module
 */

/** `now` in ms from Redis's clock (and `lastUse`); prepended to scripts that need it. */
export const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- A last-use score for a least-recently-used set: now, but strictly above the set's newest
-- score, so two uses within one millisecond keep their order (a tie would be broken by the
-- member's bytes, an HMAC: evicting at random among them).
local function lastUse(set)
  local top = redis.call('ZREVRANGE', set, 0, 0, 'WITHSCORES')
  if top[2] and tonumber(top[2]) >= now then return tonumber(top[2]) + 0.001 end
  return now
end
`;

/**
 * First line of the scripts that must keep working when Redis is full (`maxmemory` reached,
 * policy `noeviction`): rate limits, in-flight leases and the read cache's write epochs. They
 * write a few bytes per tenant (per write group), so
 * a Redis that refuses every other write (`OOM command not allowed`) still limits and counts
 * instead of refusing every request. Needs Redis 7 (script flags).
 */
export const ALLOW_OOM = "#!lua flags=allow-oom\n";

/**
 * First line of the scripts that grow what a tenant stores (vault mappings, MCP sessions,
 * pending approvals, kept reads): flagged scripts are refused as a whole when Redis is full. An
 * unflagged script is checked only up to its first write, so one that deletes or expires
 * something first (`DEL`, `ZREMRANGEBYSCORE`) went on to grow past `maxmemory`.
 */
export const DENY_OOM = "#!lua\n";

/**
 * Token bucket (runs when Redis is full). KEYS[1] the bucket hash; ARGV capacity, window (ms),
 * cost (tokens taken at once, at most the capacity; default 1). Returns `{allowed (0|1), retryAfterMs}`.
 */
export const TAKE_TOKEN = ALLOW_OOM + NOW + `
local cap = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3]) or 1
local v = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(v[1]) or cap
local ts = tonumber(v[2]) or now
if now > ts then tokens = math.min(cap, tokens + (now - ts) * cap / window) end
local allowed = 0
local retry = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry = math.max(1, math.ceil((cost - tokens) * window / cap))
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(math.max(now, ts)))
redis.call('PEXPIRE', KEYS[1], window * 2)
return {allowed, retry}
`;

/**
 * In-flight slot as a lease. KEYS[1] a sorted set of lease ids scored by expiry (ms);
 * ARGV max, lease ms, lease id, count of held ids, then the ids this replica holds on the key
 * (re-established first, so a lease that lapsed while Redis was unreachable counts again
 * before anything new is let in), then the ids of this replica's acquisitions that failed
 * locally (timed out) but may have landed (removed: phantom leases). Expired leases are
 * dropped first. Returns `{acquired (0|1), held}`.
 */
export const ACQUIRE_SLOT = ALLOW_OOM + NOW + `
local ttl = tonumber(ARGV[2])
local nHeld = tonumber(ARGV[4])
for i = 5, 4 + nHeld do redis.call('ZADD', KEYS[1], now + ttl, ARGV[i]) end
for i = 5 + nHeld, #ARGV do redis.call('ZREM', KEYS[1], ARGV[i]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZCARD', KEYS[1])
if held >= tonumber(ARGV[1]) then
  if held > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
  return {0, held}
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
return {1, held + 1}
`;

/**
 * Renews the leases this replica holds. KEYS the sets; ARGV lease ms, then one lease id per
 * key. A lease that lapsed (Redis was unreachable for longer than the lease) is re-established:
 * its execution is still running, so it counts again, and new executions wait until the
 * tenant is under its cap. Returns how many were lapsed and re-established.
 */
export const RENEW_SLOTS = ALLOW_OOM + NOW + `
local ttl = tonumber(ARGV[1])
local revived = 0
for i, key in ipairs(KEYS) do
  local score = redis.call('ZSCORE', key, ARGV[i + 1])
  if not score or tonumber(score) <= now then revived = revived + 1 end
  redis.call('ZADD', key, now + ttl, ARGV[i + 1])
  redis.call('PEXPIRE', key, ttl)
end
return revived
`;

/**
 * `forget(set, sizes, prefix, s)`: deletes vault session `s` of a tenant and takes its charged
 * bytes off the tenant's sum (`sizes`: a hash of session → bytes charged, `_` → their sum).
 */
const VAULT_FORGET = `
local function forget(set, sizes, prefix, s)
  local sz = redis.call('HGET', sizes, s)
  if sz then
    redis.call('HDEL', sizes, s)
    redis.call('HINCRBY', sizes, '_', -tonumber(sz))
  end
  redis.call('ZREM', set, s)
  redis.call('DEL', prefix .. s)
end
`;

/**
 * Reads a vault session and marks it used. KEYS[1] the session hash, KEYS[2] the tenant's
 * sessions (sorted by last use), KEYS[3] the tenant's charged bytes; ARGV ttl (ms), session
 * id. Returns HGETALL's flat list.
 */
export const VAULT_LOAD = ALLOW_OOM + NOW + `
local all = redis.call('HGETALL', KEYS[1])
if #all > 0 then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
  redis.call('ZADD', KEYS[2], lastUse(KEYS[2]), ARGV[2])
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[1]))
  if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[1])) end
end
return all
`;

/**
 * Deletes a vault session. KEYS as {@linkcode VAULT_LOAD}; ARGV session id, session-hash key
 * prefix.
 */
export const VAULT_DELETE = ALLOW_OOM + VAULT_FORGET + `
forget(KEYS[2], KEYS[3], ARGV[2], ARGV[1])
return 1
`;

/**
 * Bytes charged to a tenant for one stored mapping beyond its sealed value, lookup key and
 * placeholder (twice): Redis's own cost of two hash fields. Measured on Redis 7.0 (30,000 e-mail
 * mappings in 3 sessions): `used_memory` grew 10.26 MB, charged 10.37 MB (with 128: 9.89 MB).
 */
export const VAULT_MAPPING_OVERHEAD = 144;

/**
 * Adds mappings to a vault session, settling placeholders among replicas. KEYS[1] the session
 * hash, KEYS[2] the tenant's sessions, KEYS[3] the tenant's charged bytes (session → bytes,
 * `_` → sum); ARGV ttl, session id, max entries, max bytes, max sessions, session-hash key
 * prefix, max bytes of the tenant (all its sessions, as charged), fresh tag, then per mapping:
 * lookup key, proposed placeholder (`[LABEL_n_tag]`), label, proposed number, sealed value.
 *
 * The session's tag (field `g`) is in every placeholder it holds. A session that is not there
 * (new, expired, evicted, lost) or has no tag (stored by an older version: dropped) starts
 * under the fresh tag, never under the tag the proposals carry: that may be a dropped
 * session's, whose numbers a new counter would repeat. A value already there keeps its
 * placeholder; a proposal under another tag, with a number at or below the label's counter
 * (another replica got there) or a taken placeholder gets the next number under the session's
 * tag; a mapping over the session's caps gets ''. A mapping that would take the tenant over
 * its byte budget first evicts the tenant's least recently used other sessions, and gets ''
 * when that is not enough. Numbers never go back within a tag. Sessions not used within ttl
 * leave the tenant's sum; its least recently used sessions beyond max sessions are deleted.
 * Returns the final placeholders in order.
 */
export const VAULT_COMMIT = DENY_OOM + NOW + VAULT_FORGET + `
local ttl = tonumber(ARGV[1])
local sid = ARGV[2]
local maxE = tonumber(ARGV[3])
local maxB = tonumber(ARGV[4])
local maxS = tonumber(ARGV[5])
local hp = ARGV[6]
local maxT = tonumber(ARGV[7])
for _, s in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - ttl)) do
  forget(KEYS[2], KEYS[3], hp, s)
end
local g = redis.call('HGET', KEYS[1], 'g')
if not g and (redis.call('EXISTS', KEYS[1]) == 1 or redis.call('HEXISTS', KEYS[3], sid) == 1) then
  forget(KEYS[2], KEYS[3], hp, sid)
end
if not g then
  g = ARGV[8]
  redis.call('HSET', KEYS[1], 'g', g)
end
local suffix = '_' .. g .. ']'
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
local b = tonumber(redis.call('HGET', KEYS[1], 'b') or '0')
local total = tonumber(redis.call('HGET', KEYS[3], '_') or '0')
local added = 0
local out = {}
for i = 9, #ARGV, 5 do
  local lk = ARGV[i]
  local ph = ARGV[i + 1]
  local label = ARGV[i + 2]
  local num = tonumber(ARGV[i + 3])
  local sealed = ARGV[i + 4]
  local existing = redis.call('HGET', KEYS[1], 'v:' .. lk)
  local charge = #sealed + #lk + 2 * #ph + ${VAULT_MAPPING_OVERHEAD}
  if not existing and total + added + charge > maxT then
    -- Over the tenant's budget: its least recently used other sessions go first.
    for _, s in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
      if s ~= sid then
        forget(KEYS[2], KEYS[3], hp, s)
        total = tonumber(redis.call('HGET', KEYS[3], '_') or '0')
        if total + added + charge <= maxT then break end
      end
    end
  end
  if existing then
    table.insert(out, existing)
  elseif n + 1 > maxE or b + #sealed > maxB or total + added + charge > maxT then
    table.insert(out, '')
  else
    local cur = tonumber(redis.call('HGET', KEYS[1], 'c:' .. label) or '0')
    if num > cur and string.sub(ph, -#suffix) == suffix and
        redis.call('HEXISTS', KEYS[1], 'p:' .. ph) == 0 then
      cur = num
    else
      cur = cur + 1
      ph = '[' .. label .. '_' .. cur .. suffix
    end
    redis.call('HSET', KEYS[1], 'c:' .. label, cur, 'v:' .. lk, ph, 'p:' .. ph, sealed)
    n = n + 1
    b = b + #sealed
    added = added + charge
    table.insert(out, ph)
  end
end
redis.call('HSET', KEYS[1], 'n', n, 'b', b)
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[2], lastUse(KEYS[2]), sid)
redis.call('PEXPIRE', KEYS[2], ttl)
if added > 0 then
  redis.call('HINCRBY', KEYS[3], sid, added)
  redis.call('HINCRBY', KEYS[3], '_', added)
end
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('PEXPIRE', KEYS[3], ttl) end
local over = redis.call('ZCARD', KEYS[2]) - maxS
if over > 0 then
  local old = redis.call('ZRANGE', KEYS[2], 0, over)
  for _, s in ipairs(old) do
    if s ~= sid and over > 0 then
      forget(KEYS[2], KEYS[3], hp, s)
      over = over - 1
    end
  end
end
return out
`;

/**
 * Registers an MCP session. KEYS[1] its record (a hash: `t` tenant, `s` sealed params),
 * KEYS[2] the tenant's sessions scored by last use (ms); ARGV tenant, sealed record, ttl (ms),
 * session member (an HMAC of the id), max sessions of the tenant, record key prefix.
 * Members not used within ttl are dropped, then the least recently used beyond the cap are
 * deleted (never the new one). Returns the evicted members.
 */
export const MCP_CREATE = DENY_OOM + NOW + `
local ttl = tonumber(ARGV[3])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 't', ARGV[1], 's', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - ttl)
redis.call('ZADD', KEYS[2], lastUse(KEYS[2]), ARGV[4])
redis.call('PEXPIRE', KEYS[2], ttl)
local evicted = {}
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if over > 0 then
  local old = redis.call('ZRANGE', KEYS[2], 0, over)
  for _, s in ipairs(old) do
    if s ~= ARGV[4] and over > 0 then
      redis.call('DEL', ARGV[6] .. s)
      redis.call('ZREM', KEYS[2], s)
      table.insert(evicted, s)
      over = over - 1
    end
  end
end
return evicted
`;

/**
 * Reads an MCP session and marks it used: its record lives ttl more and it moves to the
 * back of its tenant's eviction order (the sorted set's score is the last use), so the cap
 * evicts by last use. KEYS[1] its record; ARGV ttl (ms), session member, tenant-set key
 * prefix, the caller's tenant (`""`: any; a record of another tenant is returned untouched).
 * Returns `{tenant, sealed}`, or false when there is none (expired, closed, evicted).
 */
export const MCP_TOUCH = ALLOW_OOM + NOW + `
local v = redis.call('HMGET', KEYS[1], 't', 's')
if not v[1] or not v[2] then return false end
if ARGV[4] ~= '' and v[1] ~= ARGV[4] then return {v[1], v[2]} end
local ttl = tonumber(ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
local tk = ARGV[3] .. v[1]
redis.call('ZADD', tk, lastUse(tk), ARGV[2])
redis.call('PEXPIRE', tk, ttl)
return {v[1], v[2]}
`;

/**
 * Adds a pending approval unless its tenant has `max` pending. KEYS[1] the request's key,
 * KEYS[2] the tenant's pending ids (by time asked), KEYS[3] the request's holder lease; ARGV
 * request JSON, ttl (ms), id, max, request key prefix, score, holder id, lease (ms), lease key
 * prefix. Ids whose record is gone (expired) are dropped first; ids whose holder's lease lapsed
 * (a dead replica's: withdrawn by the next reader) are not counted. Returns 1 when added.
 */
export const APPROVAL_ADD = DENY_OOM + `
local ids = redis.call('ZRANGE', KEYS[2], 0, -1)
local held = 0
for _, id in ipairs(ids) do
  if redis.call('EXISTS', ARGV[5] .. id) == 0 then redis.call('ZREM', KEYS[2], id)
  elseif redis.call('EXISTS', ARGV[9] .. id) == 1 then held = held + 1 end
end
if held >= tonumber(ARGV[4]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
redis.call('SET', KEYS[3], ARGV[7], 'PX', tonumber(ARGV[8]))
redis.call('ZADD', KEYS[2], tonumber(ARGV[6]), ARGV[3])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]))
return 1
`;

/**
 * Notes who was asked a pending approval over MCP (elicitation: the session and the approver
 * identity, sealed), so a client's reply reaching another replica finds the request. Written only
 * while the request is pending and living exactly as long as its record (same remaining TTL;
 * `APPROVAL_SETTLE` deletes it): one per pending request, so the tenant's pending cap bounds them.
 * Grows what a tenant stores: refused when Redis is full (the holder still hears replies sent to
 * it). KEYS[1] the request record, KEYS[2] the ask key; ARGV[1] the sealed ask. Returns 1 when
 * noted, 0 when the request is not pending.
 */
export const APPROVAL_ASK = DENY_OOM + `
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ttl)
return 1
`;

/**
 * Renews the holder leases of the requests a replica waits on or has settled without
 * confirming what it did yet. KEYS triples: a request's key, its taken record's key (see
 * {@linkcode APPROVAL_SETTLE}), then its lease key; ARGV holder id, lease (ms). A lease is
 * (re)set only while its request is pending or taken and unconfirmed, so a renewal never revives
 * a request that is done with. Returns nothing.
 */
export const APPROVAL_RENEW = ALLOW_OOM + `
for i = 1, #KEYS, 3 do
  if redis.call('EXISTS', KEYS[i]) == 1 or redis.call('EXISTS', KEYS[i + 1]) == 1 then
    redis.call('SET', KEYS[i + 2], ARGV[1], 'PX', tonumber(ARGV[2]))
  end
end
return false
`;

/**
 * The ids in the sorted set KEYS[1] (all of it read) that have a record (key ARGV[1] .. id) and
 * no lease (key ARGV[2] .. id), at most ARGV[3] of them. One script, two uses:
 * {@linkcode APPROVAL_ORPHANS} and {@linkcode APPROVAL_ABANDONED}.
 */
const RECORD_WITHOUT_LEASE = "#!lua flags=no-writes\n" + `
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if #out >= tonumber(ARGV[3]) then break end
  if redis.call('EXISTS', ARGV[1] .. id) == 1 and redis.call('EXISTS', ARGV[2] .. id) == 0 then
    out[#out + 1] = id
  end
end
return out
`;

/**
 * The tenant's pending requests whose holder is gone (lease lapsed: the replica died or hung).
 * KEYS[1] the tenant's pending ids; ARGV request key prefix, lease key prefix, most ids
 * returned. Returns the ids.
 */
export const APPROVAL_ORPHANS = RECORD_WITHOUT_LEASE;

/**
 * The tenant's settled requests whose holder died before confirming what it did (a taken
 * record stands, its lease lapsed): whoever finds them settles what is known
 * ({@linkcode APPROVAL_REAP_TAKEN}). KEYS[1] the tenant's settled ids; ARGV taken record key
 * prefix, lease key prefix, most ids returned. Scans the tenant's settled ids (bounded by its
 * cap on settled decisions). Returns the ids.
 */
export const APPROVAL_ABANDONED = RECORD_WITHOUT_LEASE;

/**
 * Settles what is known of a request whose holder died after it was settled, before confirming
 * what it did: once (the taken record is deleted here), only while its lease is lapsed. KEYS[1]
 * the taken record, KEYS[2] the lease, KEYS[3] the tenant's settled ids, KEYS[4] the tenant's
 * confirmations; ARGV id, sealed confirmation, ttl (ms). Returns the request JSON when this call
 * reaped it (the caller records it), else false.
 */
export const APPROVAL_REAP_TAKEN = ALLOW_OOM + `
local request = redis.call('GET', KEYS[1])
if not request or redis.call('EXISTS', KEYS[2]) == 1 then return false end
redis.call('DEL', KEYS[1])
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[4], tonumber(ARGV[3]))
end
return request
`;

/**
 * Settles a pending approval once and keeps its decision within the tenant's bounds; or offers
 * a person's answer to the replica holding the call, or lets that replica take an offered one.
 * KEYS[1] the request's key, KEYS[2] the tenant's pending ids, KEYS[3] the settled record's key,
 * KEYS[4] the tenant's settled ids (a sorted set by settling time, ms), KEYS[5] the tenant's
 * brief decisions (a hash: id → sealed status without the reason), KEYS[6] the request's holder
 * lease (the holder's id, while it lives), KEYS[7] the request's offered answer (a hash: `w`
 * whole record, `n` notice, `b` brief record, `o` the offer's id), KEYS[8] who was asked over
 * MCP (`APPROVAL_ASK`: gone once settled, so a late reply finds nothing), KEYS[9] the tenant's
 * confirmations of what the holders did (a hash: id → sealed status, see
 * {@linkcode APPROVAL_ACTED}: trimmed with the settled ids), KEYS[10] the request's taken record
 * (the request, kept from settling until its holder confirms what it did, only when the holder's
 * lease stands: the lease is kept too, so a holder that dies before confirming is found, see
 * {@linkcode APPROVAL_ABANDONED}); ARGV id, settled record ('' when over its size
 * bound: only the brief form is kept), settled ttl (ms), channel, notice JSON, brief record, max
 * full records of the tenant, max brief records of the tenant, settled record key prefix, mode,
 * holder channel prefix, offer ttl (ms), offer notice JSON (for the holder's channel), offer id
 * (a random one per offer), the request's deadline (ms since the epoch, for 'take'), taken record
 * key prefix, the lease a settled request's holder keeps until it confirms (ms, at least).
 *
 * Modes: '' settles (the holder itself: its timeout, withdrawal, or an answer it took; any
 * offer standing is void); 'offer' (a person's answer through a replica that does not hold the
 * call) settles nothing: it records the answer as offered, once, and tells the holder on its
 * channel, only while the holder lives; 'take' (the holder) settles with the offered answer,
 * only while that offer (by its id: one the holder heard of while its call waited) stands and
 * the request's deadline has not passed on Redis's clock (a take delayed on the wire, sent
 * before the holder's call ended, must not land after). An offer is withdrawn by deleting KEYS[7] (`DEL`, one command): a take
 * and a withdrawal race on that key, so exactly one of them wins and the answering replica
 * reports what happened.
 *
 * The full records of all but the tenant's newest `max full` settlements are deleted (each
 * settlement pushes one past the line; their brief form stays, so a waiter that missed the
 * notice still learns the decision), and past `max brief` the oldest are forgotten whole, with
 * their confirmation; only this tenant's. Runs when Redis is full (a decision must be recorded), so what it writes is
 * bounded per tenant by those two caps (an offer: one bounded hash per pending request).
 * Returns: settling, the request JSON when this call settled it, false when it is not pending;
 * 'take', `{request JSON, whole record, brief record}` or false when no offer stands; 'offer',
 * 3 when offered, 2 when another answer is already offered, 0 when the holder's lease lapsed (it
 * died: the caller withdraws the request), 1 when the holder has no subscriber on its channel
 * (its connection is down or it was just killed: a retry tells), false when it is not pending.
 */
export const APPROVAL_SETTLE = ALLOW_OOM + NOW + `
local request = redis.call('GET', KEYS[1])
if not request then return false end
local whole, notice, brief = ARGV[2], ARGV[5], ARGV[6]
if ARGV[10] == 'offer' then
  -- Only the replica holding the call acts on a decision: it is offered the answer and takes it.
  local holder = redis.call('GET', KEYS[6])
  if not holder then return 0 end
  local subscribers = redis.call('PUBSUB', 'NUMSUB', ARGV[11] .. holder)
  if tonumber(subscribers[2]) == 0 then return 1 end
  if redis.call('EXISTS', KEYS[7]) == 1 then return 2 end
  redis.call('HSET', KEYS[7], 'w', whole, 'n', notice, 'b', brief, 'o', ARGV[14])
  redis.call('PEXPIRE', KEYS[7], tonumber(ARGV[12]))
  redis.call('PUBLISH', ARGV[11] .. holder, ARGV[13])
  return 3
elseif ARGV[10] == 'take' then
  local offer = redis.call('HMGET', KEYS[7], 'w', 'n', 'b', 'o')
  if not offer[2] or not offer[3] or offer[4] ~= ARGV[14] then return false end
  if now > tonumber(ARGV[15]) then return false end
  whole, notice, brief = offer[1] or '', offer[2], offer[3]
end
redis.call('DEL', KEYS[7], KEYS[8])
local id = ARGV[1]
local ttl = tonumber(ARGV[3])
local prefix = ARGV[9]
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[6]) == 1 then
  redis.call('SET', KEYS[10], request, 'PX', ttl)
  -- A holder cut off from Redis for a moment still confirms: it is not reaped that soon.
  redis.call('PEXPIRE', KEYS[6], math.max(redis.call('PTTL', KEYS[6]), tonumber(ARGV[17])))
end
redis.call('ZREM', KEYS[2], id)
for _, old in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now - ttl)) do
  redis.call('ZREM', KEYS[4], old)
  redis.call('HDEL', KEYS[5], old)
  redis.call('HDEL', KEYS[9], old)
  redis.call('DEL', ARGV[16] .. old)
end
if whole ~= '' then redis.call('SET', KEYS[3], whole, 'PX', ttl) end
redis.call('ZADD', KEYS[4], lastUse(KEYS[4]), id)
redis.call('HSET', KEYS[5], id, brief)
redis.call('PEXPIRE', KEYS[4], ttl)
redis.call('PEXPIRE', KEYS[5], ttl)
local n = redis.call('ZCARD', KEYS[4])
local maxFull = tonumber(ARGV[7])
if n > maxFull then
  -- The ones just pushed past the newest maxFull (a few more in case the cap was lowered).
  local from = math.max(0, n - maxFull - 4)
  for _, old in ipairs(redis.call('ZRANGE', KEYS[4], from, n - maxFull - 1)) do
    redis.call('DEL', prefix .. old)
  end
end
local over = n - tonumber(ARGV[8])
if over > 0 then
  for _, old in ipairs(redis.call('ZRANGE', KEYS[4], 0, over - 1)) do
    redis.call('ZREM', KEYS[4], old)
    redis.call('HDEL', KEYS[5], old)
    redis.call('HDEL', KEYS[9], old)
    redis.call('DEL', prefix .. old, ARGV[16] .. old)
  end
end
redis.call('PUBLISH', ARGV[4], notice)
if ARGV[10] == 'take' then return {request, whole, brief} end
return request
`;

/**
 * Keeps what the holder of a call did with its settled request, within the tenant's bound on
 * settled decisions: only for an id the tenant's settled ids still hold (one that was never
 * settled, or is forgotten, gets nothing), in the tenant's confirmation hash, which the
 * settling script trims with those ids ({@linkcode APPROVAL_SETTLE}). KEYS[1] the tenant's
 * settled ids, KEYS[2] the tenant's confirmations; ARGV id, sealed confirmation, ttl (ms). Runs
 * when Redis is full (it replaces or adds one bounded field). The request's taken record and
 * lease (KEYS[3], KEYS[4]) are deleted: the holder is done with it. Returns 1 when kept.
 */
export const APPROVAL_ACTED = ALLOW_OOM + `
redis.call('DEL', KEYS[3], KEYS[4])
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[3]))
return 1
`;
