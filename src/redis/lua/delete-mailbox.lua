-- Deletes a mailbox: its metadata hash (and with it its token digest) and its rate-limit
-- bucket, unless the hash belongs to a mailbox registered after the deletion began (a new
-- mailbox of the same name). What the mailbox holds goes afterwards, in batches
-- (retention-candidates.lua 'delete', trim-mailbox.lua).
--
-- KEYS[1]  mailbox:{name}:metadata
-- KEYS[2]  ratelimit:{name}
-- ARGV[1]  the deletion time, epoch milliseconds
--
-- Returns the deleted mailbox's token digest ('' when it held none), or false when there was
-- no mailbox (or only a newer one).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
local createdAt = redis.call('HGET', KEYS[1], 'createdAt')
if createdAt and tonumber(createdAt) > tonumber(ARGV[1]) then
  return false
end
local digest = redis.call('HGET', KEYS[1], 'tokenHash') or ''
redis.call('DEL', KEYS[2])
redis.call('DEL', KEYS[1])
return digest
