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
--
-- What a call reads of a mailbox (mailbox_state) and of a feed (has_subscriber) is kept for
-- the call's next sends to the same mailbox: nothing a send writes changes it, and no other
-- client runs while a script does. Only the last one is kept, in locals rather than a table,
-- so that a call of one send allocates nothing more.

local state_key, state_active, state_policy

-- mailbox_state: whether the mailbox is active, and its contact policy as stored
-- (`acceptFrom`, or false when it has none).
local function mailbox_state(metadataKey)
  if metadataKey ~= state_key then
    local fields = redis.call('HMGET', metadataKey, 'active', 'acceptFrom')
    state_key, state_active, state_policy = metadataKey, fields[1] == '1', fields[2]
  end
  return state_active, state_policy
end

local feed_channel, feed_subscribed

local function has_subscriber(channel)
  if channel ~= feed_channel then
    feed_channel = channel
    feed_subscribed = redis.call('PUBSUB', 'NUMSUB', channel)[2] > 0
  end
  return feed_subscribed
end

local function enqueue_mailbox(metadataKey, messagesKey, pendingKey, id, score, channel, payload,
                               tracked, publish)
  if not mailbox_state(metadataKey) then
    return -1
  end
  if redis.call('ZADD', messagesKey, 'NX', score, id) == 0 then
    return -2
  end
  if tracked == '1' then
    redis.call('ZADD', pendingKey, score, id)
  end
  if type(payload) == 'function' then
    if not has_subscriber(channel) then
      return 0
    end
    payload = payload()
  end
  return redis.call(publish, channel, payload)
end
