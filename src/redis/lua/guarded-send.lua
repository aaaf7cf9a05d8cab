-- The sender's safety guards and both steps of DIRECT sends in one call, where every key lives
-- on one node (standalone Redis, Sentinel): one round trip per send instead of two. For each
-- send in turn: when the recipient has a contact policy, nothing is done (the caller checks
-- the policy and sends in two calls, guards first); otherwise send_guard
-- (lib/send-guard.lua), and when it admits the send, store_message then enqueue_mailbox, as
-- store-and-enqueue.lua runs them. A refused send writes nothing. Not run on Cluster, where
-- the sender, the message and the recipient are in different slots.
--
-- KEYS, ten per send, send i's at 10i-9 .. 10i:
--   message:{id}, delivery_confirmation:{id}, message:{id}:recipients,
--   mailbox:{name}:metadata, mailbox:{name}:messages, mailbox:{name}:pending (the recipient's),
--   mailbox:{sender}:metadata, mailbox:{sender}:pair:<recipient>, mailbox:{sender}:dup:<sha256>,
--   mailbox:{sender}:tokens:<day> (send_guard's four keys)
-- ARGV[1]  now, epoch milliseconds
-- then, per send: send_guard's eight arguments (send-guard.lua's ARGV[1..8]), then the
-- arguments store-and-enqueue.lua takes per send (expiry, id, score, channel, tracked,
-- recipient, n, the message hash's n entries).
--
-- Returns two values per send: GuardedSendCode.PolicySet (-1) and 0 when the recipient has a
-- contact policy; the SendGuardCode of a refusal and its detail (as send_guard); or
-- SendGuardCode.Admitted (1) and the answer store-and-enqueue.lua gives for the send.
--- @include "lib/send-guard.lua"
--- @include "lib/store-message.lua"
--- @include "lib/enqueue-mailbox.lua"
local now = ARGV[1]
local answers = {}
local at = 2
for m = 1, #KEYS / 10 do
  local key = 10 * m - 9
  local guard = at
  at = at + 8
  local expiry, id, score = ARGV[at], ARGV[at + 1], ARGV[at + 2]
  local channel, tracked = ARGV[at + 3], ARGV[at + 4]
  local recipient = at + 5
  local first = at + 7
  local last = first + tonumber(ARGV[at + 6]) - 1
  at = last + 1

  if redis.call('HEXISTS', KEYS[key + 3], 'acceptFrom') == 1 then
    answers[2 * m - 1], answers[2 * m] = -1, 0
  else
    local verdict = send_guard(KEYS[key + 6], KEYS[key + 7], KEYS[key + 8], KEYS[key + 9],
      ARGV[guard], ARGV[guard + 1], ARGV[guard + 2], ARGV[guard + 3], ARGV[guard + 4],
      ARGV[guard + 5], ARGV[guard + 6], ARGV[guard + 7])
    answers[2 * m - 1], answers[2 * m] = verdict[1], verdict[2]
    if verdict[1] == 1 then
      if redis.call('HGET', KEYS[key + 3], 'active') ~= '1' then
        answers[2 * m] = redis.call('EXISTS', KEYS[key]) == 1 and -3 or -1
      else
        store_message(KEYS[key], KEYS[key + 1], KEYS[key + 2], expiry, now, tracked, '',
          recipient, recipient, first, last)
        answers[2 * m] = enqueue_mailbox(KEYS[key + 3], KEYS[key + 4], KEYS[key + 5], id, score,
          channel,
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
  end
end
return answers
