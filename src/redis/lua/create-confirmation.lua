-- Creates a message's delivery confirmation: one PENDING entry per recipient mailbox.
--
-- KEYS[1]  delivery_confirmation:{id}
-- ARGV[1]  message id
-- ARGV[2]  sender mailbox
-- ARGV[3]  priority (LOW, NORMAL, HIGH, URGENT)
-- ARGV[4]  the message's expiry in epoch milliseconds, or ''
-- ARGV[5]  now, epoch milliseconds
-- ARGV[6..] recipient mailboxes
--
-- Fields: messageId, sender, priority, expiresAt, createdAt, open (unfinished recipients),
-- and r:<mailbox> = JSON {status, n (attempts), waiting, next, log, deliveredAt, reason}.
-- A recipient that already has an entry (a retried send) keeps it. Returns how many
-- entries were created.
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'messageId', ARGV[1], 'sender', ARGV[2], 'priority', ARGV[3],
    'expiresAt', ARGV[4], 'createdAt', ARGV[5], 'open', 0)
end
local created = 0
for i = 6, #ARGV do
  created = created + redis.call('HSETNX', KEYS[1], 'r:' .. ARGV[i],
    cjson.encode({ status = 'PENDING', n = 0, waiting = true }))
end
if created > 0 then
  redis.call('HINCRBY', KEYS[1], 'open', created)
  redis.call('PERSIST', KEYS[1])
end
return created
