-- Records in a request's own hash when its reply timeout was first handled, and answers that
-- time: the first call wins, so every later attempt (a retry after a crash, another instance
-- whose lease began after a slow one's ran out) reads the same time and so makes the same
-- notice id. A request that is gone (expired, erased) gets nothing written: HSETNX alone
-- would create a hash holding only this field, which nothing would ever remove.
--
-- KEYS[1]  message:{id} of the request
-- ARGV[1]  now, epoch milliseconds
--
-- Returns the recorded time (epoch milliseconds, as a string), or nil when the request's hash
-- does not exist.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
redis.call('HSETNX', KEYS[1], 'timedOutAt', ARGV[1])
return redis.call('HGET', KEYS[1], 'timedOutAt')
