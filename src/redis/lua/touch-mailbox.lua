-- Records that a mailbox's owner was seen, if the mailbox exists.
--
-- KEYS[1]  mailbox:{name}:metadata
-- ARGV[1]  now, epoch milliseconds
--
-- Returns TouchCode (src/redis/script-codes.ts): 1 when recorded, 0 when the mailbox does not
-- exist (no key is created).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'lastSeenAt', ARGV[1])
return 1
