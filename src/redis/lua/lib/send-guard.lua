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
-- counts nothing. send_guard is send_guard_check, which takes the same arguments and answers
-- nil or the refusal, then send_guard_count, which counts the send the last check admitted:
-- a script that checks other guards between the two (guarded-send.lua) calls them itself.
--
-- A call may guard many sends of one sender: what it reads of the sender (paused, the budget,
-- the day's total) is kept for the call's next sends of the same sender, and the day's
-- counters are added up over consecutive sends with the same tokens key and written once per
-- field when the key changes and by count_send_guards, which every script that runs
-- send_guard calls before it returns. No other client runs while a script does, so each send
-- sees the counts of the sends before it as it would in separate calls. Only the last sender
-- is kept, in locals rather than tables, so that a call of one send allocates nothing more.

local sender_key, sender_paused, sender_budget

-- The counts not yet written: the tokens key, how long it is kept, its stored total (read
-- when a budget needs it), the sums of total and messages, and the recipient whose `to:`
-- field `to_sum` adds to.
local day_key, day_ms, day_stored, day_total, day_messages
local to_recipient, to_sum

local function count_recipient()
  if to_recipient ~= nil then
    redis.call('HINCRBY', day_key, 'to:' .. to_recipient, to_sum)
    to_recipient = nil
  end
end

-- count_send_guards: writes the counts the call's admitted sends added up.
local function count_send_guards()
  if day_key == nil then
    return
  end
  count_recipient()
  if day_messages > 0 then
    redis.call('HINCRBY', day_key, 'total', day_total)
    redis.call('HINCRBY', day_key, 'messages', day_messages)
    -- Set once, when the day's first send makes the hash: dayMs from then covers the day and
    -- the next whatever the hour, and an expiry written with every send would be one more
    -- write a send for the append-only file and the replicas.
    if redis.call('PTTL', day_key) < 0 then
      redis.call('PEXPIRE', day_key, tonumber(day_ms))
    end
  end
  day_key = nil
end

-- The send send_guard_check admitted last, which send_guard_count counts.
local admitted_pair, admitted_dup, admitted_now, admitted_id, admitted_window
local admitted_dup_ms, admitted_tokens, admitted_recipient

-- send_guard_check: nil when the send may pass, or the refusal {code, detail}, counting
-- nothing (but the pair window's entries older than a minute, which it drops).
local function send_guard_check(metadataKey, pairKey, dupKey, tokensKey, now, id, pairLimit,
                                dupMs, tokens, defaultBudget, recipient, dayMs)
  now = tonumber(now)
  pairLimit = tonumber(pairLimit) or 0
  dupMs = tonumber(dupMs)
  tokens = tonumber(tokens)

  if metadataKey ~= sender_key then
    local state = redis.call('HMGET', metadataKey, 'paused', 'dailyTokenBudget')
    sender_key, sender_paused, sender_budget = metadataKey, state[1] == '1', tonumber(state[2])
  end
  if sender_paused then
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

  if tokensKey ~= day_key then
    count_send_guards()
    day_key, day_ms, day_stored, day_total, day_messages = tokensKey, dayMs, nil, 0, 0
  end
  local budget = sender_budget or tonumber(defaultBudget)
  if budget > 0 then
    if day_stored == nil then
      day_stored = tonumber(redis.call('HGET', tokensKey, 'total')) or 0
    end
    if day_stored + day_total + tokens > budget then
      return { 5, budget }
    end
  end

  admitted_pair, admitted_dup, admitted_now, admitted_id = pairKey, dupKey, now, id
  admitted_window, admitted_dup_ms, admitted_tokens = pairLimit, dupMs, tokens
  admitted_recipient = recipient
  return nil
end

-- send_guard_count: counts the send send_guard_check admitted last, before the next check.
local function send_guard_count()
  local recipient, tokens = admitted_recipient, admitted_tokens
  if recipient ~= '' and admitted_window > 0 then
    redis.call('ZADD', admitted_pair, admitted_now, admitted_id)
    redis.call('PEXPIRE', admitted_pair, 60000)
  end
  if recipient ~= '' and admitted_dup_ms > 0 then
    redis.call('SET', admitted_dup, admitted_id, 'PX', admitted_dup_ms)
  end
  day_total = day_total + tokens
  day_messages = day_messages + 1
  if recipient ~= '' then
    if recipient ~= to_recipient then
      count_recipient()
      to_recipient, to_sum = recipient, 0
    end
    to_sum = to_sum + tokens
  end
end

-- send_guard: send_guard_check, then send_guard_count when it admits the send; {1, 0} then.
local function send_guard(metadataKey, pairKey, dupKey, tokensKey, now, id, pairLimit, dupMs,
                          tokens, defaultBudget, recipient, dayMs)
  local refusal = send_guard_check(metadataKey, pairKey, dupKey, tokensKey, now, id, pairLimit,
    dupMs, tokens, defaultBudget, recipient, dayMs)
  if refusal then
    return refusal
  end
  send_guard_count()
  return { 1, 0 }
end
