-- Both steps of DIRECT sends in one call, where a message and its mailbox live on one node
-- (standalone Redis, Sentinel): for each send in turn, store_and_enqueue
-- (lib/store-and-enqueue.lua: store_message then enqueue_mailbox, atomically, the same
-- functions the two one-step scripts run). One call carries the sends of one event-loop turn;
-- each gets its own answer. Not run on Cluster, where the message and the mailbox are in
-- different slots and the two steps are separate calls.
--
-- KEYS, six per send, send i's at 6i-5 .. 6i:
--   message:{id}, delivery_confirmation:{id}, message:{id}:recipients,
--   mailbox:{name}:metadata, mailbox:{name}:messages, mailbox:{name}:pending
-- ARGV[1]  now, epoch milliseconds
-- then, per send, in the order of KEYS, the arguments lib/store-and-enqueue.lua lists:
--   expiry as epoch milliseconds, or '' for none
--   message id
--   score: the message's createdAt in epoch milliseconds
--   feed channel, mailbox:{name}:feed
--   '1' when the message requires confirmation, else '0'
--   the recipient mailbox's name
--   sender, mode, content, contentType, priority: the values of those hash fields
--   n, the number of hash entries that follow (field, value, field, value, ...: 2 per field)
--   the message hash's other n entries
--
-- Returns one number per send, as store_and_enqueue: as enqueue_mailbox, where -1
-- (EnqueueCode.Missing) means nothing was written, and -3 (EnqueueCode.MissingAfterStore)
-- that the mailbox is missing and the message was stored before (a retried send).
--- @include "lib/store-and-enqueue.lua"
local now = ARGV[1]
local answers = {}
local at = 2
for m = 1, #KEYS / 6 do
  answers[m] = store_and_enqueue(6 * m - 5, at, now)
  at = one_step_end(at)
end
return answers
