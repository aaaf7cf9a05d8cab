-- Writes a message hash once, with its expiry, atomically.
--
-- KEYS[1]  message:{id}
-- ARGV[1]  expiry as epoch milliseconds, or '' for none
-- ARGV[2..] field, value, field, value, ...
--
-- Returns 1 when written, 0 when the message was already there (a retried send): the first
-- write wins and is never overwritten.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
if ARGV[1] ~= '' then
  redis.call('PEXPIREAT', KEYS[1], ARGV[1])
end
return 1
