-- Adds a stored message to a topic's history, once. The caller publishes it to the topic
-- feed when this returns 1: the feed channel has a slot of its own on Cluster. So has the
-- topic index (topics:{index}:all and :names), which the caller writes beside this script,
-- before the publish.
--
-- KEYS[1]  topic:{name}:messages
-- KEYS[2]  topic:{name}:metadata
-- ARGV[1]  message id
-- ARGV[2]  score: the message's createdAt in epoch milliseconds
-- ARGV[3]  the topic name
--
-- Returns TopicEnqueueCode (src/redis/script-codes.ts): 1 when added; -2 when the message was
-- already in the topic (a retried send), in which case nothing is to be published again.
if redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1]) == 0 then
  return -2
end
redis.call('HSETNX', KEYS[2], 'createdAt', ARGV[2])
redis.call('HSET', KEYS[2], 'name', ARGV[3], 'lastMessageAt', ARGV[2])
redis.call('HINCRBY', KEYS[2], 'messageCount', 1)
return 1
