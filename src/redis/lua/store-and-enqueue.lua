-- Both steps of DIRECT sends in one call, where a message and its mailbox live on one node
-- (standalone Redis, Sentinel): for each send in turn, store_message then enqueue_mailbox,
-- atomically, the same functions the two one-step scripts run. One call carries the sends
-- of one event-loop turn; each gets its own answer. Not run on Cluster, where the message
-- and the mailbox are in different slots and the two steps are separate calls.
--
-- KEYS, six per send, send i's at 6i-5 .. 6i:
--   message:{id}, delivery_confirmation:{id}, message:{id}:recipients,
--   mailbox:{name}:metadata, mailbox:{name}:messages, mailbox:{name}:pending
-- ARGV[1]  now, epoch milliseconds
-- then, per send, in the order of KEYS:
--   expiry as epoch milliseconds, or '' for none
--   message id
--   score: the message's createdAt in epoch milliseconds
--   feed channel, mailbox:{name}:feed
--   '1' when the message requires confirmation, else '0'
--   the recipient mailbox's name
--   n, the number of hash entries that follow (field, value, field, value, ...: 2 per field)
--   the message hash's n entries
--
-- The push, built only when the feed has a subscriber, is the JSON array of the hash's
-- entries, followed for a tracked message by 'deliveryAttempt', '1' (toPushPayload in
-- src/messages/stored-message.ts builds the same).
--
-- Returns one number per send: as enqueue_mailbox, where -1 (EnqueueCode.Missing) means
-- nothing was written, and -3 (EnqueueCode.MissingAfterStore) that the mailbox is missing
-- and the message was stored before (a retried send).
--- @include "lib/store-message.lua"
--- @include "lib/enqueue-mailbox.lua"
local now = ARGV[1]
local answers = {}
local at = 2
for m = 1, #KEYS / 6 do
  local key = 6 * m - 5
  local expiry, id, score = ARGV[at], ARGV[at + 1], ARGV[at + 2]
  local channel, tracked = ARGV[at + 3], ARGV[at + 4]
  local recipient = at + 5
  local first = at + 7
  local last = first + tonumber(ARGV[at + 6]) - 1
  at = last + 1

  if redis.call('HGET', KEYS[key + 3], 'active') ~= '1' then
    answers[m] = redis.call('EXISTS', KEYS[key]) == 1 and -3 or -1
  else
    store_message(KEYS[key], KEYS[key + 1], KEYS[key + 2], expiry, now, tracked, '',
      recipient, recipient, first, last)
    answers[m] = enqueue_mailbox(KEYS[key + 3], KEYS[key + 4], KEYS[key + 5], id, score, channel,
      function()
        local entries = { unpack(ARGV, first, last) }
        if tracked == '1' then
          entries[#entries + 1] = 'deliveryAttempt'
          entries[#entries + 1] = '1'
        end
        return cjson.encode(entries)
      end, tracked, 'PUBLISH')
  end
end
return answers
