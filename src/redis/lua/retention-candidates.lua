-- Picks the oldest entries of one mailbox that its retention limits, or its deletion, take
-- out, a bounded batch at a time, with what else of the mailbox's refers to them. Writes
-- nothing: the caller settles what the entries point at elsewhere (other hash tags) and then
-- removes them with trim-mailbox.lua, so that a run cut short is simply repeated.
--
-- KEYS[1]  mailbox:{name}:metadata
-- KEYS[2]  mailbox:{name}:messages
-- KEYS[3]  mailbox:{name}:pending
-- KEYS[4]  mailbox:{name}:dead_letter_index
-- KEYS[5]  mailbox:{name}:read
-- ARGV[1]  'trim': the retention limits; 'delete': the mailbox was deleted
-- ARGV[2]  'trim': how many entries the mailbox keeps (its newest), 0 for no limit;
--          'delete': the deletion time, epoch milliseconds
-- ARGV[3]  'trim': the lowest score kept (older entries go), or '' for no age limit;
--          'delete': ignored
-- ARGV[4]  how many entries at most
--
-- 'trim' takes the oldest entries of the index beyond the newest ARGV[2] or older than
-- ARGV[3]. 'delete' takes the oldest entries of the index, then (once the index is empty)
-- of the pending list, the dead-letter index and the read marks: every one while no mailbox
-- of the name exists, and only those scored up to the deletion time once a new mailbox of
-- the name has been registered (its own entries are newer).
--
-- Returns {seen, entries, pending, deadLettered}:
--   seen          'trim': the mailbox's lastSeenAt, else its createdAt, else '' (no mailbox);
--                 'delete': ''
--   entries       id, score, id, score, ... oldest first
--   pending       the ids among them that the pending list holds
--   deadLettered  the ids among them that the dead-letter index holds
local limit = tonumber(ARGV[4])
local seen = ''
local entries = {}

if ARGV[1] == 'trim' then
  local mailbox = redis.call('HMGET', KEYS[1], 'lastSeenAt', 'createdAt')
  seen = mailbox[1] or mailbox[2] or ''
  local keep = tonumber(ARGV[2])
  local over = 0
  if keep > 0 then
    over = redis.call('ZCARD', KEYS[2]) - keep
  end
  if ARGV[3] ~= '' then
    local old = redis.call('ZCOUNT', KEYS[2], '-inf', '(' .. ARGV[3])
    if old > over then
      over = old
    end
  end
  if over > 0 then
    entries = redis.call('ZRANGE', KEYS[2], 0, math.min(over, limit) - 1, 'WITHSCORES')
  end
else
  local upTo = '+inf'
  if redis.call('EXISTS', KEYS[1]) == 1 then
    upTo = ARGV[2]
  end
  for _, key in ipairs({ KEYS[2], KEYS[3], KEYS[4], KEYS[5] }) do
    entries = redis.call('ZRANGE', key, '-inf', upTo, 'BYSCORE', 'LIMIT', 0, limit, 'WITHSCORES')
    if #entries > 0 then
      break
    end
  end
end

local ids = {}
for i = 1, #entries, 2 do
  ids[#ids + 1] = entries[i]
end
local pending = {}
local deadLettered = {}
if #ids > 0 then
  local inPending = redis.call('ZMSCORE', KEYS[3], unpack(ids))
  local inDead = redis.call('ZMSCORE', KEYS[4], unpack(ids))
  for i, id in ipairs(ids) do
    if inPending[i] then
      pending[#pending + 1] = id
    end
    if inDead[i] then
      deadLettered[#deadLettered + 1] = id
    end
  end
end
return { seen, entries, pending, deadLettered }
