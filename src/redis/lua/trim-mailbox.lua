-- Takes entries out of one mailbox: its index, its pending list, its dead letters and its
-- read marks, so that what the mailbox counts (unread, pending) stays true. Idempotent.
--
-- KEYS[1]  mailbox:{name}:messages
-- KEYS[2]  mailbox:{name}:pending
-- KEYS[3]  mailbox:{name}:dead_letters
-- KEYS[4]  mailbox:{name}:dead_letter_index
-- KEYS[5]  mailbox:{name}:read
-- ARGV     the message ids, at least one (retention-candidates.lua gives at most a batch)
--
-- Returns how many of the ids left the index.
local removed = redis.call('ZREM', KEYS[1], unpack(ARGV))
redis.call('ZREM', KEYS[2], unpack(ARGV))
redis.call('HDEL', KEYS[3], unpack(ARGV))
redis.call('ZREM', KEYS[4], unpack(ARGV))
redis.call('ZREM', KEYS[5], unpack(ARGV))
return removed
