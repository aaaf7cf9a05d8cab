-- The second step of a send for one recipient (enqueue_mailbox in lib/enqueue-mailbox.lua),
-- on the mailbox's hash tag.
--
-- KEYS[1]  mailbox:{name}:metadata
-- KEYS[2]  mailbox:{name}:messages
-- KEYS[3]  mailbox:{name}:pending   (message ids awaiting the mailbox's confirmation)
-- ARGV[1]  message id
-- ARGV[2]  score: the message's createdAt in epoch milliseconds
-- ARGV[3]  feed channel, mailbox:{name}:feed
-- ARGV[4]  the push (toPushPayload's form)
-- ARGV[5]  '1' when the message requires confirmation, else '0'
-- ARGV[6]  'PUBLISH', or 'SPUBLISH' for a shard channel on Cluster
--
-- Returns the receivers of the push (0 or more), or an EnqueueCode
-- (src/redis/script-codes.ts): -1 (Missing), -2 (Duplicate).
--- @include "lib/enqueue-mailbox.lua"
return enqueue_mailbox(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5],
  ARGV[6])
