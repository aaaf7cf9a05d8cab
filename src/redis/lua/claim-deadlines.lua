-- Claims requests whose reply deadline has passed, for one instance, as claim-due.lua claims
-- deliveries: a claimed entry is not deleted but pushed into the future by the lease. The
-- claiming instance removes it once the requester has its notice; if that instance dies
-- first, the entry falls due again at the lease's end and another instance takes it.
--
-- KEYS[1]  requests:{schedule}:deadlines (members: request message ids; scores: replyBy)
-- ARGV[1]  now, epoch milliseconds
-- ARGV[2]  lease end, epoch milliseconds
-- ARGV[3]  how many to claim at most
--
-- Returns the claimed request ids in score order: earliest deadline (or lapsed lease) first.
local due = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id)
end
return due
