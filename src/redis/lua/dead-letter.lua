-- Files a failed delivery among a mailbox's dead letters and takes it off the mailbox's
-- pending list.
--
-- KEYS[1]  mailbox:{name}:dead_letters       hash: message id -> JSON {reason, attempts, deadLetteredAt}
-- KEYS[2]  mailbox:{name}:dead_letter_index  zset: message ids by dead-letter time
-- KEYS[3]  mailbox:{name}:pending            zset: message ids awaiting confirmation
-- ARGV[1]  message id
-- ARGV[2]  now, epoch milliseconds
-- ARGV[3]  the record as JSON
--
-- Returns DeadLetterCode (src/redis/script-codes.ts): 1 when filed, 0 when it was already
-- there.
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[3]) == 0 then
  return 0
end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
