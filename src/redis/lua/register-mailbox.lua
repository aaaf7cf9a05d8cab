-- Registers a mailbox, or reactivates a deactivated one.
--
-- KEYS[1]  mailbox:{name}:metadata
-- ARGV[1]  mailbox name
-- ARGV[2]  now, epoch milliseconds
-- ARGV[3]  metadata as JSON, or '' for none
-- ARGV[4]  SHA-256 of the mailbox's new token (the token itself is never stored)
--
-- Returns RegisterCode (src/redis/script-codes.ts): 1 when registered or reactivated, 0 when
-- the mailbox already exists and is active; then the digest of the token a reactivation
-- replaced ('' for none), which its caller revokes.
local active, previous = unpack(redis.call('HMGET', KEYS[1], 'active', 'tokenHash'))
if active == '1' then
  return {0, ''}
end
if not active then
  redis.call('HSET', KEYS[1], 'name', ARGV[1], 'createdAt', ARGV[2])
  -- A new mailbox starts with no settings, whatever an older one of the name left behind.
  redis.call('HDEL', KEYS[1], 'paused', 'acceptFrom', 'dailyTokenBudget')
end
redis.call('HSET', KEYS[1], 'active', '1', 'updatedAt', ARGV[2], 'tokenHash', ARGV[4])
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'metadata', ARGV[3])
else
  redis.call('HDEL', KEYS[1], 'metadata')
end
return {1, previous or ''}
