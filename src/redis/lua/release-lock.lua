-- Releases a lock only while it is still the caller's. A GET then a DEL from the client could
-- delete a lock that lapsed in between and was taken by another instance.
--
-- KEYS[1]  the lock (expiry:{schedule}:lock)
-- ARGV[1]  the owner token the lock was taken with
--
-- Returns ReleaseLockCode (src/redis/script-codes.ts): 1 when released, 0 when the lock lapsed
-- or another owner holds it.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
