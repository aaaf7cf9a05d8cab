-- enqueue_mailbox: adds a stored message to a mailbox and pushes it to the mailbox's live
-- feed, once, on the mailbox's hash tag.
--
-- Arguments: the keys mailbox:{name}:metadata, mailbox:{name}:messages, mailbox:{name}:pending
-- (message ids awaiting the mailbox's confirmation);
--   id: the message id
--   score: the message's createdAt in epoch milliseconds
--   channel: the feed channel, mailbox:{name}:feed
--   payload: the push, a string; or a function that builds it, called only when the feed
--     has a subscriber
--   tracked: '1' when the message requires confirmation, else '0'
--   publish: 'PUBLISH', or 'SPUBLISH' for a shard channel on Cluster
--
-- Returns the number of service instances that received the push (0 or more), or an
-- EnqueueCode (src/redis/script-codes.ts): -1 (Missing) when the mailbox is unknown or
-- inactive; -2 (Duplicate) when the message was already in the mailbox (a retried send), in
-- which case nothing is published again.
local function enqueue_mailbox(metadataKey, messagesKey, pendingKey, id, score, channel, payload,
                               tracked, publish)
  if redis.call('HGET', metadataKey, 'active') ~= '1' then
    return -1
  end
  if redis.call('ZADD', messagesKey, 'NX', score, id) == 0 then
    return -2
  end
  if tracked == '1' then
    redis.call('ZADD', pendingKey, score, id)
  end
  if type(payload) == 'function' then
    if redis.call('PUBSUB', 'NUMSUB', channel)[2] == 0 then
      return 0
    end
    payload = payload()
  end
  return redis.call(publish, channel, payload)
end
