-- DIRECT sends in one step where the messages and their mailboxes live on one node
-- (standalone Redis, Sentinel): for each message in turn, the work of store-message.lua,
-- then of enqueue-mailbox.lua, atomically. One call carries one message or many (the sends
-- of one event-loop turn, such as a sendMessages batch); each gets its own answer. On
-- Cluster their keys are in different slots and the two scripts run in turn.
--
-- KEYS, four per message, message i's at 4i-3 .. 4i:
--   message:{id}, mailbox:{name}:metadata, mailbox:{name}:messages, mailbox:{name}:pending
-- ARGV[1]  'PUBLISH' (this script does not run on Cluster)
-- then, per message, in the order of KEYS:
--   expiry as epoch milliseconds, or '' for none
--   message id
--   score: the message's createdAt in epoch milliseconds
--   feed channel, mailbox:{name}:feed
--   '1' when the message requires confirmation, else '0'
--   n, the number of hash entries that follow (field, value, field, value, ...: 2 per field)
--   the message hash's n entries
--
-- The push, published only when the feed channel has a subscriber, is the JSON array of the
-- hash's entries, followed for a message that requires confirmation by 'deliveryAttempt',
-- '1' (toPushPayload in src/messages/stored-message.ts builds the same).
--
-- Returns one number per message: the number of service instances that received the push
-- (0 or more); -1 when the mailbox is unknown or inactive and nothing was written; -3 the
-- same, but the message was already stored (a retried send); -2 when the message was
-- already in the mailbox, in which case nothing is written or published again.
local publish = ARGV[1]
local answers = {}
local at = 2
for m = 1, #KEYS / 4 do
  local key = 4 * m - 3
  local expiry, id, score = ARGV[at], ARGV[at + 1], ARGV[at + 2]
  local channel, confirm = ARGV[at + 3], ARGV[at + 4]
  local first = at + 6
  local last = first + tonumber(ARGV[at + 5]) - 1
  at = last + 1

  local answer
  if redis.call('HGET', KEYS[key + 1], 'active') ~= '1' then
    answer = redis.call('EXISTS', KEYS[key]) == 1 and -3 or -1
  else
    if redis.call('EXISTS', KEYS[key]) == 0 then
      redis.call('HSET', KEYS[key], unpack(ARGV, first, last))
      if expiry ~= '' then
        redis.call('PEXPIREAT', KEYS[key], expiry)
      end
    end
    if redis.call('ZADD', KEYS[key + 2], 'NX', score, id) == 0 then
      answer = -2
    else
      if confirm == '1' then
        redis.call('ZADD', KEYS[key + 3], score, id)
      end
      answer = redis.call('PUBSUB', 'NUMSUB', channel)[2]
      if answer > 0 then
        local entries = { unpack(ARGV, first, last) }
        if confirm == '1' then
          entries[#entries + 1] = 'deliveryAttempt'
          entries[#entries + 1] = '1'
        end
        answer = redis.call(publish, channel, cjson.encode(entries))
      end
    end
  end
  answers[m] = answer
end
return answers
