-- The operator's control of a thread: sets or removes its pause or its budget, and gives the
-- thread's guard state the lifetime that follows (lib/thread-guard.lua's thread_lifetime): kept
-- while a control is set, else lapsing with the thread's last message.
--
-- KEYS[1]  thread:{sha256}:guard
-- ARGV[1]  the control: 'paused' or 'maxTokens'
-- ARGV[2]  its value, or '' to remove it
-- ARGV[3]  how long the state outlives the thread's last message, milliseconds
--
-- Returns 1.
--- @include "lib/thread-guard.lua"
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
thread_lifetime(KEYS[1], ARGV[3])
return 1
