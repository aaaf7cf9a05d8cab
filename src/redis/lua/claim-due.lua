-- Claims due deliveries from the retry schedule, most urgent first, for one instance.
-- A claimed entry is not deleted but pushed into the future by the lease: if the claiming
-- instance dies before it finishes, the entry falls due again and another instance takes it.
--
-- KEYS[1..4]  delivery:{schedule}:URGENT, :HIGH, :NORMAL, :LOW (members "<messageId>|<mailbox>")
-- ARGV[1]     now, epoch milliseconds
-- ARGV[2]     lease end, epoch milliseconds
-- ARGV[3]     how many to claim at most
--
-- Returns a flat list: member, priority index (1 = URGENT), member, priority index, ...
local now = ARGV[1]
local lease = ARGV[2]
local left = tonumber(ARGV[3])
local out = {}
for k = 1, #KEYS do
  if left <= 0 then
    break
  end
  local due = redis.call('ZRANGE', KEYS[k], '-inf', now, 'BYSCORE', 'LIMIT', 0, left)
  for _, member in ipairs(due) do
    redis.call('ZADD', KEYS[k], 'XX', lease, member)
    out[#out + 1] = member
    out[#out + 1] = k
  end
  left = left - #due
end
return out
