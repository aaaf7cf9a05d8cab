-- Forgets the metadata of a topic whose history is empty (every message expired), so that a
-- topic is known while it holds messages. The caller then removes the topic from the topic
-- index (topics:{index}:*, another tag), and puts it back should a send have stored a message
-- meanwhile.
--
-- KEYS[1]  topic:{name}:messages
-- KEYS[2]  topic:{name}:metadata
-- KEYS[3]  topic:{name}:arrivals
--
-- Returns 1 when the history was empty and the metadata is gone, 0 when it holds messages.
if redis.call('ZCARD', KEYS[1]) > 0 then
  return 0
end
redis.call('DEL', KEYS[2], KEYS[3])
return 1
