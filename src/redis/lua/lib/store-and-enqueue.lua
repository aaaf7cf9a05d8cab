-- store_and_enqueue: steps 2 and 3 of one DIRECT send in one call, where the message and its
-- mailbox live on one node: store_message then enqueue_mailbox, atomically, as the one-step
-- scripts (store-and-enqueue.lua, guarded-send.lua) run them for each of their sends.
--
-- Arguments: key, the index in KEYS of the send's six keys (message:{id},
-- delivery_confirmation:{id}, message:{id}:recipients, mailbox:{name}:metadata,
-- mailbox:{name}:messages, mailbox:{name}:pending); at, the index in ARGV of its arguments
-- (expiry or '', id, score, feed channel, tracked '1' or '0', the recipient mailbox, n, then
-- the message hash's n entries); now, epoch milliseconds.
--
-- The push, built only when the feed has a subscriber, is the JSON array of the hash's
-- entries, followed for a tracked message by 'deliveryAttempt', '1' (toPushPayload in
-- src/messages/stored-message.ts builds the same).
--
-- Returns as enqueue_mailbox, where -1 (EnqueueCode.Missing) means nothing was written, and
-- -3 (EnqueueCode.MissingAfterStore) that the mailbox is missing and the message was stored
-- before (a retried send).
--- @include "lib/store-message.lua"
--- @include "lib/enqueue-mailbox.lua"

-- one_step_end: the index in ARGV just after the send's arguments that start at `at`.
local function one_step_end(at)
  return at + 7 + tonumber(ARGV[at + 6])
end

local function store_and_enqueue(key, at, now)
  local expiry, id, score = ARGV[at], ARGV[at + 1], ARGV[at + 2]
  local channel, tracked = ARGV[at + 3], ARGV[at + 4]
  local recipient = at + 5
  local first = at + 7
  local last = one_step_end(at) - 1

  if not mailbox_state(KEYS[key + 3]) then
    return redis.call('EXISTS', KEYS[key]) == 1 and -3 or -1
  end
  store_message(KEYS[key], KEYS[key + 1], KEYS[key + 2], expiry, now, tracked, '', recipient,
    recipient, first, last)
  return enqueue_mailbox(KEYS[key + 3], KEYS[key + 4], KEYS[key + 5], id, score, channel,
    function()
      local entries = { unpack(ARGV, first, last) }
      if tracked == '1' then
        entries[#entries + 1] = 'deliveryAttempt'
        entries[#entries + 1] = '1'
      end
      return cjson.encode(entries)
    end, tracked, 'PUBLISH')
end
