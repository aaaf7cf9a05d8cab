-- Takes back what send_guard counted for a send that another guard or routing refused after
-- it: the send's place in the pair window and its share of the day's counters. A recipient's
-- `to:<name>` field that comes back to 0 is deleted, so that refused sends to names that do
-- not exist leave no field behind (the day's hash would otherwise keep one per name tried,
-- and a deletion of the mailbox reads them all). A day's hash that is gone (the mailbox was
-- deleted meanwhile) is not made again, without an expiry.
--
-- KEYS[1]  mailbox:{sender}:tokens:<day>
-- KEYS[2]  mailbox:{sender}:pair:<recipient> (for a send with no recipient, any key of the
--          sender's slot: it is not touched)
-- ARGV[1]  the send's token estimate
-- ARGV[2]  the recipient ('' for BROADCAST and TOPIC)
-- ARGV[3]  the message id
--
-- Returns 1 when the day's counters were taken back, 0 when the day's hash was gone.
local tokens, recipient = tonumber(ARGV[1]), ARGV[2]
if recipient ~= '' then
  redis.call('ZREM', KEYS[2], ARGV[3])
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HINCRBY', KEYS[1], 'total', -tokens)
redis.call('HINCRBY', KEYS[1], 'messages', -1)
if recipient ~= '' then
  local field = 'to:' .. recipient
  if redis.call('HINCRBY', KEYS[1], field, -tokens) <= 0 then
    redis.call('HDEL', KEYS[1], field)
  end
end
return 1
