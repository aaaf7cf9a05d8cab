-- Token bucket per mailbox token: LIMIT operations per minute, refilled continuously, on the
-- Redis server's own clock so that every instance counts against the same bucket.
--
-- KEYS[1]  ratelimit:{name}   hash {tokens, ts}
-- ARGV[1]  the limit per minute (the bucket's capacity)
-- ARGV[2]  the cost of this operation
--
-- Returns {RateLimitCode, wait}, RateLimitCode (src/redis/script-codes.ts): {1, 0} when
-- allowed, {0, milliseconds until it would be} when not.
local capacity = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local perMs = capacity / 60000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
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
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], 60000)
return { allowed, wait }
