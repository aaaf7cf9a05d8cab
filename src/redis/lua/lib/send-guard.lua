-- send_guard: the sender's side of the safety guards for one send, checked before anything is
-- counted, then counted, on the sender's hash tag: whether the mailbox is paused, the sliding
-- window of messages to one recipient, the duplicate guard and the daily token budget.
--
-- Arguments: the keys
--   mailbox:{sender}:metadata            hash: paused, dailyTokenBudget
--   mailbox:{sender}:pair:<recipient>    sorted set: message ids by send time (window)
--   mailbox:{sender}:dup:<sha256>        string: the id of the first send of this body
--   mailbox:{sender}:tokens:<day>        hash: total, and per recipient `to:<name>`
-- then
--   now: epoch milliseconds
--   id: the message id
--   pairLimit: messages per minute to one recipient (0 or '': no window)
--   dupMs: the duplicate window in milliseconds (0: no duplicate guard)
--   tokens: the message's token estimate
--   defaultBudget: the daily token budget of a mailbox without its own (0: none)
--   recipient: the recipient ('' for BROADCAST and TOPIC)
--   dayMs: how long the day's counters are kept from the day's first send, milliseconds
--
-- Returns {code, detail}, code a SendGuardCode (src/redis/script-codes.ts): {1, 0} admitted
-- and counted; {2, 0} paused; {3, milliseconds until the window has room} pair window full;
-- {4, the first send's id} duplicate; {5, the budget} daily budget exhausted. A refusal
-- counts nothing.
local function send_guard(metadataKey, pairKey, dupKey, tokensKey, now, id, pairLimit, dupMs,
                          tokens, defaultBudget, recipient, dayMs)
  now = tonumber(now)
  pairLimit = tonumber(pairLimit) or 0
  dupMs = tonumber(dupMs)
  tokens = tonumber(tokens)

  local state = redis.call('HMGET', metadataKey, 'paused', 'dailyTokenBudget')
  if state[1] == '1' then
    return { 2, 0 }
  end

  if recipient ~= '' and pairLimit > 0 then
    redis.call('ZREMRANGEBYSCORE', pairKey, '-inf', now - 60000)
    if redis.call('ZCARD', pairKey) >= pairLimit then
      local oldest = redis.call('ZRANGE', pairKey, 0, 0, 'WITHSCORES')[2]
      return { 3, math.max(1, tonumber(oldest) + 60000 - now) }
    end
  end

  if recipient ~= '' and dupMs > 0 then
    local first = redis.call('GET', dupKey)
    if first and first ~= id then
      return { 4, first }
    end
  end

  local budget = tonumber(state[2]) or tonumber(defaultBudget)
  if budget > 0 then
    local spent = tonumber(redis.call('HGET', tokensKey, 'total')) or 0
    if spent + tokens > budget then
      return { 5, budget }
    end
  end

  if recipient ~= '' and pairLimit > 0 then
    redis.call('ZADD', pairKey, now, id)
    redis.call('PEXPIRE', pairKey, 60000)
  end
  if recipient ~= '' and dupMs > 0 then
    redis.call('SET', dupKey, id, 'PX', dupMs)
  end
  redis.call('HINCRBY', tokensKey, 'total', tokens)
  redis.call('HINCRBY', tokensKey, 'messages', 1)
  if recipient ~= '' then
    redis.call('HINCRBY', tokensKey, 'to:' .. recipient, tokens)
  end
  -- Set once, when the day's first send makes the hash: dayMs from then covers the day and the
  -- next whatever the hour, and an expiry written with every send would be one more write a
  -- send for the append-only file and the replicas.
  if redis.call('PTTL', tokensKey) < 0 then
    redis.call('PEXPIRE', tokensKey, tonumber(dayMs))
  end
  return { 1, 0 }
end
