#!lua
-- Whether Redis takes writes now, without writing anything. The first line declares the
-- script without the `no-writes` flag, so Redis 7 refuses to run it wherever it would refuse
-- a write: OOM at maxmemory with noeviction, READONLY on a replica, MISCONF when persistence
-- fails. (That line must come first: Redis reads the flags from it.)
--
-- KEYS  none
-- ARGV  none
--
-- Returns WriteProbeCode (src/redis/script-codes.ts): 1.
return 1
