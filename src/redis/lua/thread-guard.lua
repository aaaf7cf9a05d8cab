-- The thread's side of the safety guards for one send, checked before anything is counted,
-- then counted (thread_check and thread_count, lib/thread-guard.lua, whose header says what
-- they check).
--
-- KEYS[1]  thread:{sha256}:guard
-- ARGV[1]  the recipient of a reply ('' for a message that is no reply, or has no recipient)
-- ARGV[2]  replies that may reach one recipient in the thread (0: no limit)
-- ARGV[3]  '1' when the operator posts: the visit counts start again
-- ARGV[4]  how long the state outlives the thread's last message, milliseconds
-- ARGV[5]  the message's token estimate
-- (ARGV[1] to ARGV[4] in the order guarded-send.lua takes them too.)
--
-- Returns {code, detail}, code a ThreadGuardCode (src/redis/script-codes.ts): {1, 0} admitted and counted;
-- {2, 0} paused; {3, the visits} loop; {4, the budget} budget exhausted. A refusal counts
-- nothing.
--- @include "lib/thread-guard.lua"
local refusal = thread_check(KEYS[1], ARGV[1], ARGV[2], ARGV[5], ARGV[3])
if refusal then
  return refusal
end
thread_count(KEYS[1], ARGV[1], ARGV[5], ARGV[3], ARGV[4])
return { 1, 0 }
