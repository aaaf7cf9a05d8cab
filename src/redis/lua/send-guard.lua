-- The sender's side of the safety guards for one send (lib/send-guard.lua), on the sender's
-- hash tag. Used on Cluster, where the recipient's policy is on another tag and is read
-- beside it; on one node, send-guards.lua runs the sends of a turn together.
--
-- KEYS[1]  mailbox:{sender}:metadata            hash: paused, dailyTokenBudget
-- KEYS[2]  mailbox:{sender}:pair:<recipient>    sorted set: message ids by send time (window)
-- KEYS[3]  mailbox:{sender}:dup:<sha256>        string: the id of the first send of this body
-- KEYS[4]  mailbox:{sender}:tokens:<day>        hash: total, and per recipient `to:<name>`
-- ARGV[1]  now, epoch milliseconds
-- ARGV[2]  the message id
-- ARGV[3]  messages per minute to one recipient (0: no window; no recipient: '')
-- ARGV[4]  the duplicate window in milliseconds (0: no duplicate guard)
-- ARGV[5]  the message's token estimate
-- ARGV[6]  the daily token budget of a mailbox without its own (0: none)
-- ARGV[7]  the recipient ('' for BROADCAST and TOPIC)
-- ARGV[8]  how long the day's counters are kept, milliseconds
--
-- Returns {code, detail}, code a SendGuardCode (src/redis/script-codes.ts), as send_guard.
--- @include "lib/send-guard.lua"
local verdict = send_guard(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3],
  ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8])
count_send_guards()
return verdict
