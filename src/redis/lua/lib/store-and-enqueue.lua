-- store_and_enqueue: steps 2 and 3 of one DIRECT send in one call, where the message and its
-- mailbox live on one node: store_message then enqueue_mailbox, atomically, as the one-step
-- scripts (store-and-enqueue.lua, guarded-send.lua) run them for each of their sends.
--
-- Arguments: key, the index in KEYS of the send's six keys (message:{id},
-- delivery_confirmation:{id}, message:{id}:recipients, mailbox:{name}:metadata,
-- mailbox:{name}:messages, mailbox:{name}:pending); at, the index in ARGV of its arguments;
-- now, epoch milliseconds. The send's arguments, from `at`:
--   expiry or '', id, score (the message's createdAt), feed channel, tracked '1' or '0', the
--   recipient mailbox, then the values of the hash fields every message has: sender, mode,
--   content, contentType, priority; then n, and the message's other n hash entries (field,
--   value, ...). The hash's id, createdAt and requireConfirmation are the id, score and
--   tracked given before: each value travels once (one_step_entries).
--
-- The push, built only when the feed has a subscriber, is the JSON array of the hash's
-- entries, followed for a tracked message by 'deliveryAttempt', '1' (toPushPayload in
-- src/messages/stored-message.ts builds the same, in the same order: toHashFields').
--
-- Returns as enqueue_mailbox, where -1 (EnqueueCode.Missing) means nothing was written, and
-- -3 (EnqueueCode.MissingAfterStore) that the mailbox is missing and the message was stored
-- before (a retried send).
--- @include "lib/store-message.lua"
--- @include "lib/enqueue-mailbox.lua"

-- one_step_end: the index in ARGV just after the send's arguments that start at `at`.
local function one_step_end(at)
  return at + 12 + tonumber(ARGV[at + 11])
end

-- one_step_entries: the message hash's entries of the send whose arguments start at `at`, in
-- toHashFields' order.
local function one_step_entries(at)
  local entries = { 'id', ARGV[at + 1], 'sender', ARGV[at + 6], 'mode', ARGV[at + 7],
    'content', ARGV[at + 8], 'contentType', ARGV[at + 9], 'priority', ARGV[at + 10],
    'createdAt', ARGV[at + 2], 'requireConfirmation', ARGV[at + 4] }
  for i = at + 12, one_step_end(at) - 1 do
    entries[#entries + 1] = ARGV[i]
  end
  return entries
end

local function store_and_enqueue(key, at, now)
  local expiry, id, score = ARGV[at], ARGV[at + 1], ARGV[at + 2]
  local channel, tracked = ARGV[at + 3], ARGV[at + 4]
  local recipient = at + 5

  if not mailbox_state(KEYS[key + 3]) then
    return redis.call('EXISTS', KEYS[key]) == 1 and -3 or -1
  end
  local entries = one_step_entries(at)
  store_message(KEYS[key], KEYS[key + 1], KEYS[key + 2], expiry, now, tracked, '', recipient,
    recipient, entries)
  return enqueue_mailbox(KEYS[key + 3], KEYS[key + 4], KEYS[key + 5], id, score, channel,
    function()
      if tracked == '1' then
        entries[#entries + 1] = 'deliveryAttempt'
        entries[#entries + 1] = '1'
      end
      return cjson.encode(entries)
    end, tracked, 'PUBLISH')
end
