-- The sender's safety guards, a reply's thread guard and both steps of DIRECT sends in one
-- call, where every key lives on one node (standalone Redis, Sentinel): one round trip per
-- send instead of two. For each send in turn: when the recipient has a contact policy,
-- nothing is done (the caller checks the policy and sends in two calls, guards first);
-- otherwise send_guard_check (lib/send-guard.lua), then, for a send in a thread of another
-- message, thread_check (lib/thread-guard.lua), the sender's refusal first as in two calls;
-- when both admit the send, send_guard_count, thread_count, the send's entries in its
-- thread's index, and store_and_enqueue (lib/store-and-enqueue.lua), as store-and-enqueue.lua
-- runs it. A refused send writes and counts nothing, and a send to an unknown or inactive
-- recipient passes no guard: it is answered as admitted with store_and_enqueue's answer for
-- a missing mailbox, having counted nothing. Not run on Cluster, where the sender, the
-- message, the thread and the recipient are in different slots.
--
-- KEYS, per send: ten, then two more for a send in a thread:
--   message:{id}, delivery_confirmation:{id}, message:{id}:recipients,
--   mailbox:{name}:metadata, mailbox:{name}:messages, mailbox:{name}:pending (the recipient's),
--   mailbox:{sender}:metadata, mailbox:{sender}:pair:<recipient>, mailbox:{sender}:dup:<sha256>,
--   mailbox:{sender}:tokens:<day> (send_guard's four keys),
--   thread:{sha256}:guard, thread:{sha256}:messages (the thread's guard state and its index)
-- ARGV[1]  now, epoch milliseconds
-- ARGV[2]  pairLimit, ARGV[3] defaultBudget, ARGV[4] dayMs: send_guard's arguments of that
--          name, from the configuration and alike for every send of the call
-- then, per send: send_guard's own three (now, dupMs, tokens); '0' for a send in no thread of
-- another message, or '1' and thread_check's recipient, maxVisits and reset, thread_count's
-- stateMs (its tokens are send_guard's), then n and the n (score, member) entries of the
-- thread's index; then the arguments store-and-enqueue.lua takes per send
-- (lib/store-and-enqueue.lua), whose id and recipient are send_guard's too.
--
-- Returns three values per send: GuardedSendCode.PolicySet (-1), 0, 0 when the recipient has
-- a contact policy; the SendGuardCode of the sender guard's refusal, its detail (as
-- send_guard) and 0; GuardedSendCode.ThreadRefused (-2), the refusal's detail and its
-- ThreadGuardCode when the thread's guard refused the send; or SendGuardCode.Admitted (1),
-- the answer store-and-enqueue.lua gives for the send, and 0.
--- @include "lib/send-guard.lua"
--- @include "lib/store-and-enqueue.lua"
--- @include "lib/thread-guard.lua"
local now, pairLimit, defaultBudget, dayMs = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local answers = {}
local at, key, m = 5, 1, 0
while key <= #KEYS do
  local guard, thread = at, at + 3
  local threaded = ARGV[thread] == '1'
  local send = threaded and thread + 6 + 2 * tonumber(ARGV[thread + 5]) or thread + 1
  local threadKey, indexKey = KEYS[key + 10], KEYS[key + 11]
  at = one_step_end(send)
  local code, detail, threadCode = 1, 0, 0
  local active, policy = mailbox_state(KEYS[key + 3])
  if not active then
    -- An unknown or inactive recipient: the send is refused, so no guard counts it, and
    -- store_and_enqueue answers so without writing anything.
    detail = store_and_enqueue(key, send, now)
  elseif policy then
    code = -1
  else
    local tokens = ARGV[guard + 2]
    local refusal = send_guard_check(KEYS[key + 6], KEYS[key + 7], KEYS[key + 8],
      KEYS[key + 9], ARGV[guard], ARGV[send + 1], pairLimit, ARGV[guard + 1], tokens,
      defaultBudget, ARGV[send + 5], dayMs)
    local held = not refusal and threaded
      and thread_check(threadKey, ARGV[thread + 1], ARGV[thread + 2], tokens, ARGV[thread + 3])
    if refusal then
      code, detail = refusal[1], refusal[2]
    elseif held then
      code, detail, threadCode = -2, held[2], held[1]
    else
      send_guard_count()
      if threaded then
        thread_count(threadKey, ARGV[thread + 1], tokens, ARGV[thread + 3], ARGV[thread + 4])
        redis.call('ZADD', indexKey, unpack(ARGV, thread + 6, send - 1))
      end
      detail = store_and_enqueue(key, send, now)
    end
  end
  answers[3 * m + 1], answers[3 * m + 2], answers[3 * m + 3] = code, detail, threadCode
  m = m + 1
  key = key + (threaded and 12 or 10)
end
count_send_guards()
return answers
