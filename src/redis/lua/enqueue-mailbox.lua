-- Adds a stored message to a mailbox and pushes it to the mailbox's live feed, once.
--
-- KEYS[1]  mailbox:{name}:metadata
-- KEYS[2]  mailbox:{name}:messages
-- KEYS[3]  mailbox:{name}:pending   (message ids awaiting the mailbox's confirmation)
-- ARGV[1]  message id
-- ARGV[2]  score: the message's createdAt in epoch milliseconds
-- ARGV[3]  feed channel, mailbox:{name}:feed
-- ARGV[4]  the message as JSON, published to the feed
-- ARGV[5]  '1' when the message requires confirmation, else '0'
-- ARGV[6]  'PUBLISH', or 'SPUBLISH' for a shard channel on Cluster
--
-- Returns the number of service instances that received the push (0 or more); -1 when the
-- mailbox is unknown or inactive; -2 when the message was already in the mailbox (a retried
-- send), in which case nothing is published again.
if redis.call('HGET', KEYS[1], 'active') ~= '1' then
  return -1
end
if redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[1]) == 0 then
  return -2
end
if ARGV[5] == '1' then
  redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
end
return redis.call(ARGV[6], ARGV[3], ARGV[4])
