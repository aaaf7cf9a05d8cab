-- Adds a stored message to a topic's history, once. The caller publishes it to the topic
-- feed when this returns 1: the feed channel has a slot of its own on Cluster. So has the
-- topic index (topics:{index}:all, :names and :arrivals), which the caller writes beside
-- this script, before the publish.
--
-- KEYS[1]  topic:{name}:messages
-- KEYS[2]  topic:{name}:metadata
-- KEYS[3]  topic:{name}:arrivals
-- ARGV[1]  message id
-- ARGV[2]  score: the message's createdAt in epoch milliseconds
-- ARGV[3]  the topic name
--
-- An added message is marked `unpublished:<id>` in the metadata until the caller has
-- published it and taken the mark off, so that a retried send whose first try stopped between
-- the two still publishes it.
--
-- The arrivals set orders the topic's messages by when they were stored, which the ids do not
-- (a message's id is made when it is sent, and a slow send, another instance or the outage
-- queue may store it after later ones): its score is this Redis's time in microseconds, made
-- greater than the topic's last arrival (the set's highest score) should the clock have gone
-- back, so that a reading of the topic after an arrival misses nothing stored since.
--
-- Returns TopicEnqueueCode (src/redis/script-codes.ts): 1 when added; 2 when the message was
-- in the topic already but its publish never completed; -2 when it was in the topic and
-- published (a retried send), in which case nothing is to be published again.
local unpublished = 'unpublished:' .. ARGV[1]
if redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1]) == 0 then
  if redis.call('HEXISTS', KEYS[2], unpublished) == 1 then
    return 2
  end
  return -2
end
local now = redis.call('TIME')
local arrival = tonumber(now[1]) * 1000000 + tonumber(now[2])
local last = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')[2]
if last and arrival <= tonumber(last) then
  arrival = tonumber(last) + 1
end
redis.call('ZADD', KEYS[3], arrival, ARGV[1])
redis.call('HSETNX', KEYS[2], 'createdAt', ARGV[2])
redis.call('HSET', KEYS[2], 'name', ARGV[3], 'lastMessageAt', ARGV[2], unpublished, '1')
redis.call('HINCRBY', KEYS[2], 'messageCount', 1)
return 1
