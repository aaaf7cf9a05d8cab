-- Reads a page of message ids newer than a cursor from a message index, oldest first.
--
-- KEYS[1]  mailbox:{name}:messages or topic:{name}:messages
-- ARGV[1]  cursor: a message id; only ids greater than it are returned ('0' for all)
-- ARGV[2]  the cursor's timestamp in epoch milliseconds (the lowest score to look at)
-- ARGV[3]  how many ids at most
--
-- Returns the ids in score order, then id order. Scores are the ids' own timestamps, so this
-- is id order; entries of the cursor's millisecond that sort before it are skipped.
local cursor = ARGV[1]
local wanted = tonumber(ARGV[3])
local out = {}
local offset = 0
while #out < wanted do
  local batch = redis.call('ZRANGE', KEYS[1], ARGV[2], '+inf', 'BYSCORE', 'LIMIT', offset, wanted)
  if #batch == 0 then
    break
  end
  for _, id in ipairs(batch) do
    if id > cursor and #out < wanted then
      out[#out + 1] = id
    end
  end
  offset = offset + #batch
end
return out
