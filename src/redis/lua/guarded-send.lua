-- The sender's safety guards and both steps of DIRECT sends in one call, where every key lives
-- on one node (standalone Redis, Sentinel): one round trip per send instead of two. For each
-- send in turn: when the recipient has a contact policy, nothing is done (the caller checks
-- the policy and sends in two calls, guards first); otherwise send_guard
-- (lib/send-guard.lua), and when it admits the send, store_and_enqueue
-- (lib/store-and-enqueue.lua), as store-and-enqueue.lua runs it. A refused send writes
-- nothing, and a send to an unknown or inactive recipient passes no guard: it is answered
-- as admitted with store_and_enqueue's answer for a missing mailbox, having counted
-- nothing. Not run on Cluster, where the sender, the message and the recipient are in
-- different slots.
--
-- KEYS, ten per send, send i's at 10i-9 .. 10i:
--   message:{id}, delivery_confirmation:{id}, message:{id}:recipients,
--   mailbox:{name}:metadata, mailbox:{name}:messages, mailbox:{name}:pending (the recipient's),
--   mailbox:{sender}:metadata, mailbox:{sender}:pair:<recipient>, mailbox:{sender}:dup:<sha256>,
--   mailbox:{sender}:tokens:<day> (send_guard's four keys)
-- ARGV[1]  now, epoch milliseconds
-- ARGV[2]  pairLimit, ARGV[3] defaultBudget, ARGV[4] dayMs: send_guard's arguments of that
--          name, from the configuration and alike for every send of the call
-- then, per send: send_guard's own three (now, dupMs, tokens), then the arguments
-- store-and-enqueue.lua takes per send (lib/store-and-enqueue.lua), whose id and recipient
-- are send_guard's too.
--
-- Returns two values per send: GuardedSendCode.PolicySet (-1) and 0 when the recipient has a
-- contact policy; the SendGuardCode of a refusal and its detail (as send_guard); or
-- SendGuardCode.Admitted (1) and the answer store-and-enqueue.lua gives for the send.
--- @include "lib/send-guard.lua"
--- @include "lib/store-and-enqueue.lua"
local now, pairLimit, defaultBudget, dayMs = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local answers = {}
local at = 5
for m = 1, #KEYS / 10 do
  local key = 10 * m - 9
  local guard, send = at, at + 3
  at = one_step_end(send)
  local active, policy = mailbox_state(KEYS[key + 3])
  if not active then
    -- An unknown or inactive recipient: the send is refused, so no guard counts it, and
    -- store_and_enqueue answers so without writing anything.
    answers[2 * m - 1], answers[2 * m] = 1, store_and_enqueue(key, send, now)
  elseif policy then
    answers[2 * m - 1], answers[2 * m] = -1, 0
  else
    local verdict = send_guard(KEYS[key + 6], KEYS[key + 7], KEYS[key + 8], KEYS[key + 9],
      ARGV[guard], ARGV[send + 1], pairLimit, ARGV[guard + 1], ARGV[guard + 2], defaultBudget,
      ARGV[send + 5], dayMs)
    answers[2 * m - 1], answers[2 * m] = verdict[1], verdict[2]
    if verdict[1] == 1 then answers[2 * m] = store_and_enqueue(key, send, now) end
  end
end
count_send_guards()
return answers
