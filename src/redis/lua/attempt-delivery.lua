-- Claims and records one delivery attempt of a message to a recipient: the caller pushes the
-- message only when this returns an attempt number, so that concurrent instances never push
-- the same attempt twice.
--
-- KEYS[1]  delivery_confirmation:{id}
-- ARGV[1]  recipient mailbox
-- ARGV[2]  now, epoch milliseconds
-- ARGV[3]  'first': only when no attempt is under way (never attempted, or waiting for a
--          subscriber); 'retry': only when exactly ARGV[4] attempts were made
-- ARGV[4]  expected attempts so far (for 'retry')
-- ARGV[5]  events channel (delivery_confirmation:{id}:events)
-- ARGV[6]  'PUBLISH', or 'SPUBLISH' for a shard channel on Cluster
-- ARGV[7..] the wait in milliseconds after attempt 1, 2, ... (the retry policy's table)
--
-- Returns {attempt number, next decision time, redrive time or 0} when recorded, otherwise
-- {AttemptCode.NotClaimed, 0, 0}: AttemptCode (src/redis/script-codes.ts), NotClaimed = 0.
--
-- The recorded attempt raises the state's revision `v` by one, as every change does (see
-- update-delivery.lua): watchers order what they read and what they are told by it.
local field = 'r:' .. ARGV[1]
local raw = redis.call('HGET', KEYS[1], field)
if not raw then
  return { 0, 0, 0 }
end
local state = cjson.decode(raw)
if state.status ~= 'PENDING' then
  return { 0, 0, 0 }
end
local n = tonumber(state.n) or 0
if ARGV[3] == 'first' then
  if not state.waiting then
    return { 0, 0, 0 }
  end
elseif tonumber(ARGV[4]) ~= n then
  return { 0, 0, 0 }
end
n = n + 1
local now = tonumber(ARGV[2])
local waits = #ARGV - 6
local wait = tonumber(ARGV[6 + math.min(n, waits)])
state.n = n
state.v = (tonumber(state.v) or 0) + 1
state.waiting = false
state.next = now + wait
if type(state.log) ~= 'table' or next(state.log) == nil then
  state.log = {}
end
table.insert(state.log, { n = n, at = now })
local encoded = cjson.encode(state)
redis.call('HSET', KEYS[1], field, encoded)
redis.call(ARGV[6], ARGV[5], cjson.encode({ mailbox = ARGV[1], state = state }))
return { n, state.next, state.redrivenAt or 0 }
