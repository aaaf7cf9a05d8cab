-- The sender's side of the safety guards for one send, checked before anything is counted,
-- then counted, on the sender's hash tag: whether the mailbox is paused, the sliding window of
-- messages to one recipient, the duplicate guard and the daily token budget.
--
-- KEYS[1]  mailbox:{sender}:metadata            hash: paused, dailyTokenBudget
-- KEYS[2]  mailbox:{sender}:pair:<recipient>    sorted set: message ids by send time (window)
-- KEYS[3]  mailbox:{sender}:dup:<sha256>        string: the id of the first send of this body
-- KEYS[4]  mailbox:{sender}:tokens:<day>        hash: total, and per recipient `to:<name>`
-- ARGV[1]  now, epoch milliseconds
-- ARGV[2]  the message id
-- ARGV[3]  messages per minute to one recipient (0: no window; no recipient: '')
-- ARGV[4]  the duplicate window in milliseconds (0: no duplicate guard)
-- ARGV[5]  the message's token estimate
-- ARGV[6]  the daily token budget of a mailbox without its own (0: none)
-- ARGV[7]  the recipient ('' for BROADCAST and TOPIC)
-- ARGV[8]  how long the day's counters are kept, milliseconds
--
-- Returns {code, detail}, code a SendGuardCode (src/redis/script-codes.ts): {1, 0} admitted and counted;
-- {2, 0} paused; {3, milliseconds until the window has room} pair window full; {4, the first
-- send's id} duplicate; {5, the budget} daily budget exhausted. A refusal counts nothing.
local now = tonumber(ARGV[1])
local id = ARGV[2]
local pairLimit = tonumber(ARGV[3]) or 0
local dupMs = tonumber(ARGV[4])
local tokens = tonumber(ARGV[5])
local recipient = ARGV[7]

local state = redis.call('HMGET', KEYS[1], 'paused', 'dailyTokenBudget')
if state[1] == '1' then
  return { 2, 0 }
end

if recipient ~= '' and pairLimit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 60000)
  if redis.call('ZCARD', KEYS[2]) >= pairLimit then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')[2]
    return { 3, math.max(1, tonumber(oldest) + 60000 - now) }
  end
end

if recipient ~= '' and dupMs > 0 then
  local first = redis.call('GET', KEYS[3])
  if first and first ~= id then
    return { 4, first }
  end
end

local budget = tonumber(state[2]) or tonumber(ARGV[6])
if budget > 0 then
  local spent = tonumber(redis.call('HGET', KEYS[4], 'total')) or 0
  if spent + tokens > budget then
    return { 5, budget }
  end
end

if recipient ~= '' and pairLimit > 0 then
  redis.call('ZADD', KEYS[2], now, id)
  redis.call('PEXPIRE', KEYS[2], 60000)
end
if recipient ~= '' and dupMs > 0 then
  redis.call('SET', KEYS[3], id, 'PX', dupMs)
end
redis.call('HINCRBY', KEYS[4], 'total', tokens)
redis.call('HINCRBY', KEYS[4], 'messages', 1)
if recipient ~= '' then
  redis.call('HINCRBY', KEYS[4], 'to:' .. recipient, tokens)
end
redis.call('PEXPIRE', KEYS[4], tonumber(ARGV[8]))
return { 1, 0 }
