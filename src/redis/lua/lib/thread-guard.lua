-- The thread's side of the safety guards for one send, on the thread's hash tag: whether the
-- thread is paused, how often a reply chain has returned to its recipient, and the thread's
-- token budget. thread_check decides, thread_count counts what it admitted, so that a script
-- that runs other guards between the two counts nothing for a send another guard refuses.
--
-- Arguments: key, thread:{sha256}:guard, a hash: paused, maxTokens, spent, messages, and per
-- recipient `v:<name>` (replies to it since the last reset); then
--   recipient: the recipient of a reply ('' for a message that is no reply, or has none)
--   maxVisits: replies that may reach one recipient in the thread (0: no limit)
--   tokens: the message's token estimate
--   reset: '1' when the operator posts: the visit counts start again
--   stateMs: how long the state outlives the thread's last message, milliseconds
--
-- thread_check returns nil when the send may pass, or {code, detail}, code a ThreadGuardCode
-- (src/redis/script-codes.ts): {2, 0} paused; {3, the visits} loop; {4, the budget} budget
-- exhausted. A refusal counts nothing. An operator's post is held to the pause and the budget
-- like any send, and once admitted clears the visit counts.

local function thread_check(key, recipient, maxVisits, tokens, reset)
  maxVisits, tokens, reset = tonumber(maxVisits), tonumber(tokens), reset == '1'
  local state = redis.call('HMGET', key, 'paused', 'maxTokens', 'spent')
  -- A refusal by a control keeps the state (a thread paused, or given its budget, before the
  -- controls kept it may still carry a lifetime).
  if state[1] == '1' then
    redis.call('PERSIST', key)
    return { 2, 0 }
  end

  if not reset and recipient ~= '' and maxVisits > 0 then
    local visits = tonumber(redis.call('HGET', key, 'v:' .. recipient)) or 0
    if visits >= maxVisits then
      return { 3, visits }
    end
  end

  local budget = tonumber(state[2]) or 0
  local spent = tonumber(state[3]) or 0
  if budget > 0 and spent + tokens > budget then
    redis.call('PERSIST', key)
    return { 4, budget }
  end

  -- Admitted: the operator's post starts the visit counts again.
  if reset then
    local fields = redis.call('HKEYS', key)
    for _, field in ipairs(fields) do
      if string.sub(field, 1, 2) == 'v:' then
        redis.call('HDEL', key, field)
      end
    end
  end
  return nil
end

-- A paused thread or one with a budget keeps its state for as long as the control is set: a
-- paused thread takes no message, so a lifetime counted from its last one would lift the pause
-- (and a budget) by itself. Else the state outlives the thread's last message by stateMs.
local function thread_lifetime(key, stateMs)
  local controls = redis.call('HMGET', key, 'paused', 'maxTokens')
  if controls[1] or controls[2] then
    redis.call('PERSIST', key)
  elseif redis.call('EXISTS', key) == 1 then
    redis.call('PEXPIRE', key, tonumber(stateMs))
  end
end

-- An admitted send's thread is not paused (thread_check refuses a paused one): only a budget
-- keeps its state.
local function thread_count(key, recipient, tokens, reset, stateMs)
  redis.call('HINCRBY', key, 'spent', tonumber(tokens))
  redis.call('HINCRBY', key, 'messages', 1)
  if recipient ~= '' and reset ~= '1' then
    redis.call('HINCRBY', key, 'v:' .. recipient, 1)
  end
  if redis.call('HEXISTS', key, 'maxTokens') == 1 then
    redis.call('PERSIST', key)
  else
    redis.call('PEXPIRE', key, tonumber(stateMs))
  end
end
