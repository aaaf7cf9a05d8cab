-- Sets or removes one of a mailbox's settings in its metadata (paused, acceptFrom,
-- dailyTokenBudget), if the mailbox exists: a setting written while the mailbox is deleted
-- must not leave a hash behind, which a mailbox registered later under the name would
-- inherit.
--
-- KEYS[1]  mailbox:{name}:metadata
-- ARGV[1]  the field
-- ARGV[2]  its value, or '' to remove it
--
-- Returns 1 when written, 0 when the mailbox does not exist (nothing is written).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return 1
