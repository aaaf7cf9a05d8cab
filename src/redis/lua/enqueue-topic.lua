-- Adds a stored message to a topic's history and publishes it to the topic feed, once.
--
-- KEYS[1]  topic:{name}:messages
-- KEYS[2]  topic:{name}:metadata
-- ARGV[1]  message id
-- ARGV[2]  score: the message's createdAt in epoch milliseconds
-- ARGV[3]  feed channel, topics:feed
-- ARGV[4]  the message as JSON
-- ARGV[5]  the topic name
--
-- Returns the number of service instances that received the push (0 or more); -2 when the
-- message was already in the topic (a retried send), in which case nothing is published again.
if redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1]) == 0 then
  return -2
end
redis.call('HSETNX', KEYS[2], 'createdAt', ARGV[2])
redis.call('HSET', KEYS[2], 'name', ARGV[5], 'lastMessageAt', ARGV[2])
redis.call('HINCRBY', KEYS[2], 'messageCount', 1)
return redis.call('PUBLISH', ARGV[3], ARGV[4])
