-- A DIRECT send in one step where the message and its mailbox live on one node (standalone
-- Redis, Sentinel): the work of store-message.lua, then of enqueue-mailbox.lua, atomically.
-- On Cluster their keys are in different slots and the two scripts run in turn.
--
-- KEYS[1]  message:{id}
-- KEYS[2]  mailbox:{name}:metadata
-- KEYS[3]  mailbox:{name}:messages
-- KEYS[4]  mailbox:{name}:pending
-- ARGV[1]  the message's expiry as epoch milliseconds, or '' for none
-- ARGV[2]  message id
-- ARGV[3]  score: the message's createdAt in epoch milliseconds
-- ARGV[4]  feed channel, mailbox:{name}:feed
-- ARGV[5]  the message as JSON, published to the feed
-- ARGV[6]  '1' when the message requires confirmation, else '0'
-- ARGV[7]  'PUBLISH' (this script does not run on Cluster)
-- ARGV[8..] the message hash: field, value, field, value, ...
--
-- Returns the number of service instances that received the push (0 or more); -1 when the
-- mailbox is unknown or inactive and nothing was written; -3 the same, but the message was
-- already stored (a retried send); -2 when the message was already in the mailbox, in which
-- case nothing is written or published again.
if redis.call('HGET', KEYS[2], 'active') ~= '1' then
  if redis.call('EXISTS', KEYS[1]) == 1 then
    return -3
  end
  return -1
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 8))
  if ARGV[1] ~= '' then
    redis.call('PEXPIREAT', KEYS[1], ARGV[1])
  end
end
if redis.call('ZADD', KEYS[3], 'NX', ARGV[3], ARGV[2]) == 0 then
  return -2
end
if ARGV[6] == '1' then
  redis.call('ZADD', KEYS[4], ARGV[3], ARGV[2])
end
return redis.call(ARGV[7], ARGV[4], ARGV[5])
