-- Moves a recipient's delivery to a new state, atomically, and publishes the change.
--
-- KEYS[1]  delivery_confirmation:{id}
-- ARGV[1]  recipient mailbox
-- ARGV[2]  now, epoch milliseconds
-- ARGV[3]  action:
--          'deliver'  PENDING -> DELIVERED (the recipient confirmed); the last attempt gets
--                     its latency. Past the message's expiresAt: PENDING -> EXPIRED with
--                     reason ARGV[6] instead, as the confirmation came too late
--          'wait'     PENDING with ARGV[5] attempts -> waiting for a subscriber (no attempt spent)
--          'fail'     PENDING with ARGV[5] attempts -> FAILED, reason ARGV[6]
--          'expire'   PENDING -> EXPIRED
--          'redrive'  FAILED -> PENDING with a fresh count, waiting for a push; when the
--                     confirmation is gone (kept only ARGV[4] ms after it finished while
--                     its dead letter stays), it is written again from ARGV[9] to ARGV[13]
-- ARGV[4]  milliseconds to keep the confirmation once every recipient is finished
-- ARGV[5]  expected attempts (for 'wait' and 'fail'), or ''
-- ARGV[6]  reason (for 'fail' and 'expire', and for 'deliver' past the expiry), or ''
-- ARGV[7]  events channel (delivery_confirmation:{id}:events)
-- ARGV[8]  'PUBLISH', or 'SPUBLISH' for a shard channel on Cluster
-- ARGV[9]  for 'redrive' only, or absent: the message's id, ARGV[10] its sender, ARGV[11] its
--          priority, ARGV[12] its expiresAt or '', ARGV[13] its createdAt (a message past its
--          expiresAt is not written again: nothing would remove it)
--
-- Returns {DeliveryUpdateCode, the recipient's state as JSON, and on a change the message's
-- sender}, DeliveryUpdateCode (src/redis/script-codes.ts): 1 changed, 0 unchanged; {0, false}
-- for an unknown recipient.
-- An action that does not apply changes nothing and returns the current state, which makes
-- 'deliver' idempotent.
--
-- Every change raises the state's revision `v` by one (a redrive too, although it starts the
-- attempt count again), so that a watcher can tell which of two states of a recipient is the
-- later one: a state without `v` (never changed, or written before there was one) is
-- revision 0. src/delivery/delivery-state.ts holds the rule.
local field = 'r:' .. ARGV[1]
local action = ARGV[3]
local now = tonumber(ARGV[2])
local raw = redis.call('HGET', KEYS[1], field)
if not raw and action == 'redrive' and ARGV[9]
    and not (ARGV[12] ~= '' and now >= tonumber(ARGV[12])) then
  -- A dead letter outlives its finished confirmation: the confirmation starts again, its
  -- revision above any it had (a watcher may remember one), as the FAILED state it was.
  redis.call('HSETNX', KEYS[1], 'messageId', ARGV[9])
  redis.call('HSETNX', KEYS[1], 'sender', ARGV[10])
  redis.call('HSETNX', KEYS[1], 'priority', ARGV[11])
  redis.call('HSETNX', KEYS[1], 'expiresAt', ARGV[12])
  redis.call('HSETNX', KEYS[1], 'createdAt', ARGV[13])
  raw = cjson.encode({ status = 'FAILED', n = 0, v = now })
end
if not raw then
  return { 0, false }
end
local state = cjson.decode(raw)
local n = tonumber(state.n) or 0
local expected = tonumber(ARGV[5])
local revision = (tonumber(state.v) or 0) + 1
local finished = false

if action == 'deliver' then
  local expiresAt = tonumber(redis.call('HGET', KEYS[1], 'expiresAt') or '')
  if expiresAt and now >= expiresAt then
    action = 'expire'
  end
end

if action == 'deliver' then
  if state.status ~= 'PENDING' then
    return { 0, raw }
  end
  state.status = 'DELIVERED'
  state.deliveredAt = now
  state.waiting = false
  state.next = nil
  if type(state.log) == 'table' and #state.log > 0 then
    local last = state.log[#state.log]
    last.latencyMs = now - last.at
  end
  finished = true
elseif action == 'wait' then
  if state.status ~= 'PENDING' or state.waiting or expected ~= n then
    return { 0, raw }
  end
  state.waiting = true
  state.next = nil
elseif action == 'fail' then
  if state.status ~= 'PENDING' or expected ~= n then
    return { 0, raw }
  end
  state.status = 'FAILED'
  state.reason = ARGV[6]
  state.next = nil
  state.failedAt = now
  if type(state.log) == 'table' and #state.log > 0 then
    state.log[#state.log].error = ARGV[6]
  end
  finished = true
elseif action == 'expire' then
  if state.status ~= 'PENDING' then
    return { 0, raw }
  end
  state.status = 'EXPIRED'
  state.reason = ARGV[6]
  state.next = nil
  finished = true
elseif action == 'redrive' then
  if state.status ~= 'FAILED' then
    return { 0, raw }
  end
  state = { status = 'PENDING', n = 0, waiting = true, redrivenAt = now }
  local open = redis.call('HINCRBY', KEYS[1], 'open', 1)
  if open == 1 then
    redis.call('PERSIST', KEYS[1])
  end
else
  return redis.error_reply('unknown action ' .. action)
end

state.v = revision
local encoded = cjson.encode(state)
redis.call('HSET', KEYS[1], field, encoded)
-- Read before the expiry below, which with ARGV[4] 0 removes the hash at once.
local sender = redis.call('HGET', KEYS[1], 'sender')
if finished then
  local open = redis.call('HINCRBY', KEYS[1], 'open', -1)
  if open <= 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[4])
  end
end
redis.call(ARGV[8], ARGV[7], cjson.encode({ mailbox = ARGV[1], state = state }))
return { 1, encoded, sender }
