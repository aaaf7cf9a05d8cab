-- The thread's side of the safety guards for one send, checked before anything is counted,
-- then counted, on the thread's hash tag: whether the thread is paused, how often a reply
-- chain has returned to its recipient, and the thread's token budget.
--
-- KEYS[1]  thread:{sha256}:guard   hash: paused, maxTokens, spent, messages, and per recipient
--                                  `v:<name>` (replies to it since the last reset)
-- ARGV[1]  the recipient of a reply ('' for a message that is no reply, or has no recipient)
-- ARGV[2]  replies that may reach one recipient in the thread (0: no limit)
-- ARGV[3]  the message's token estimate
-- ARGV[4]  '1' when the operator posts: the visit counts start again
-- ARGV[5]  how long the state outlives the thread's last message, milliseconds
--
-- Returns {code, detail}, code a ThreadGuardCode (src/redis/script-codes.ts): {1, 0} admitted and counted;
-- {2, 0} paused; {3, the visits} loop; {4, the budget} budget exhausted. A refusal counts
-- nothing.
local recipient = ARGV[1]
local maxVisits = tonumber(ARGV[2])
local tokens = tonumber(ARGV[3])
local reset = ARGV[4] == '1'

local state = redis.call('HMGET', KEYS[1], 'paused', 'maxTokens', 'spent')
if state[1] == '1' and not reset then
  return { 2, 0 }
end

if reset then
  local fields = redis.call('HKEYS', KEYS[1])
  for _, field in ipairs(fields) do
    if string.sub(field, 1, 2) == 'v:' then
      redis.call('HDEL', KEYS[1], field)
    end
  end
elseif recipient ~= '' and maxVisits > 0 then
  local visits = tonumber(redis.call('HGET', KEYS[1], 'v:' .. recipient)) or 0
  if visits >= maxVisits then
    return { 3, visits }
  end
end

local budget = tonumber(state[2]) or 0
local spent = tonumber(state[3]) or 0
if budget > 0 and not reset and spent + tokens > budget then
  return { 4, budget }
end

redis.call('HINCRBY', KEYS[1], 'spent', tokens)
redis.call('HINCRBY', KEYS[1], 'messages', 1)
if recipient ~= '' and not reset then
  redis.call('HINCRBY', KEYS[1], 'v:' .. recipient, 1)
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[5]))
return { 1, 0 }
