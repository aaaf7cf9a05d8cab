-- Replaces (or with '' removes) a mailbox's token digest.
--
-- KEYS[1]  mailbox:{name}:metadata
-- ARGV[1]  the new token's SHA-256 digest, or '' to revoke
--
-- Returns the previous digest ('' when there was none), or false when the mailbox does not exist.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
local previous = redis.call('HGET', KEYS[1], 'tokenHash') or ''
if ARGV[1] == '' then
  redis.call('HDEL', KEYS[1], 'tokenHash')
else
  redis.call('HSET', KEYS[1], 'tokenHash', ARGV[1])
end
return previous
