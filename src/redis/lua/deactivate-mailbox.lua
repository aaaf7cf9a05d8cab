-- Deactivates a mailbox: it keeps its messages but receives nothing new.
--
-- KEYS[1]  mailbox:{name}:metadata
-- ARGV[1]  now, epoch milliseconds
--
-- Returns DeactivateCode (src/redis/script-codes.ts): 1 when deactivated (or already
-- inactive), 0 when the mailbox does not exist.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'active', '0', 'updatedAt', ARGV[1])
return 1
