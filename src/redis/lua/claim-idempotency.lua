-- Claims a sender's idempotency key for a message id, unless the sender used the key within
-- the window, and lists the key in the sender's index of keys, so that deleting the mailbox
-- can remove them: a mailbox registered again under the name must not find the old one's
-- keys and take its sends for repeats of messages it never sent.
--
-- KEYS[1]  idempotency:{sender}:<sha256 of the key>
-- KEYS[2]  mailbox:{sender}:idempotency_keys (sorted set: key names by when they lapse)
-- ARGV[1]  the message id
-- ARGV[2]  the window, milliseconds
-- ARGV[3]  now, epoch milliseconds
--
-- Returns the id that owned the key before (a repeat), or nil when this call claimed it.
local earlier = redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX', 'GET')
if earlier then
  return earlier
end
local now, window = tonumber(ARGV[3]), tonumber(ARGV[2])
redis.call('ZADD', KEYS[2], now + window, KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('PEXPIRE', KEYS[2], window)
return false
