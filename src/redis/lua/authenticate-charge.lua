-- Mailbox tokens' checks and their operations' charges, one call for one or several. Each
-- token's digest is compared with the one its mailbox stores, and only a token that matches
-- is charged, so that a forged token for a mailbox cannot drain its bucket, and a token
-- revoked a moment ago is refused on its next operation on every instance. A check's two keys
-- hold its mailbox's hash tag; several checks in one call (on a node that holds every key:
-- standalone Redis, Sentinel) are answered each on its own.
--
-- The bucket: LIMIT operations per minute per mailbox token, refilled continuously, on the
-- Redis server's own clock so that every instance counts against the same bucket; an
-- operation takes its cost when the bucket holds that much, else it takes nothing.
--
-- KEYS, two per check:
--   mailbox:{name}:metadata   hash (tokenHash)
--   ratelimit:{name}          hash {tokens, ts}
-- ARGV[1]  the limit per minute (every bucket's capacity)
-- then, two per check:
--   the SHA-256 digest of the token presented (digests are compared, so the comparison's
--   time tells nothing about a token)
--   the cost of its operation; 0 checks the token alone, and no bucket is read or written
--
-- Returns two values per check, in order, RateLimitCode (src/redis/script-codes.ts) then a
-- wait: {1, 0} when allowed; {0, milliseconds until it would be} when not; {-1, 0} when the
-- mailbox stores no digest or another one, and nothing is charged; {-2, Redis' error} when
-- one of the check's keys holds another type, or when Redis refuses the charge's write (out
-- of memory, read-only): that check alone fails, and the checks of cost 0 beside it, which
-- write nothing, are answered.
local capacity = tonumber(ARGV[1])
local perMs = capacity / 60000
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local answers = {}

local function take_from_bucket(key, cost)
  -- A key Redis cannot read as a hash fails this check alone, not the call's others.
  local state = redis.pcall('HMGET', key, 'tokens', 'ts')
  if state.err then
    return -2, state.err
  end
  local tokens = tonumber(state[1]) or capacity
  local ts = tonumber(state[2]) or now
  tokens = math.min(capacity, tokens + math.max(0, now - ts) * perMs)
  local allowed = 1
  local wait = 0
  if tokens < cost then
    allowed = 0
    wait = math.ceil((cost - tokens) / perMs)
  else
    tokens = tokens - cost
  end
  local written = redis.pcall('HSET', key, 'tokens', tostring(tokens), 'ts', now)
  if type(written) == 'table' and written.err then
    return -2, written.err
  end
  -- Kept at least a minute past its last use, by when it has refilled whole: renewed to two
  -- minutes when less than one is left, not with every operation, since each renewal is one
  -- more write for the append-only file and the replicas.
  if redis.call('PTTL', key) < 60000 then
    redis.pcall('PEXPIRE', key, 120000)
  end
  return allowed, wait
end

for check = 1, #KEYS / 2 do
  local stored = redis.pcall('HGET', KEYS[2 * check - 1], 'tokenHash')
  local allowed, wait = -1, 0
  if type(stored) == 'table' and stored.err then
    allowed, wait = -2, stored.err
  elseif stored and stored == ARGV[2 * check] then
    local cost = tonumber(ARGV[2 * check + 1])
    if cost > 0 then
      allowed, wait = take_from_bucket(KEYS[2 * check], cost)
    else
      allowed = 1
    end
  end
  answers[#answers + 1] = allowed
  answers[#answers + 1] = wait
end
return answers
