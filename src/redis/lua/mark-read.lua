-- Marks messages of a mailbox read. Only ids in the mailbox's index are marked, so the read
-- set stays a subset of the index and unread = ZCARD(messages) - ZCARD(read).
--
-- KEYS[1]  mailbox:{name}:messages
-- KEYS[2]  mailbox:{name}:read      (zset: read message ids, scored like the index)
-- ARGV[1]  'ids': ARGV[2..] are message ids
--          'upTo': every id up to and including ARGV[2] (a message id), among the index
--          entries with scores up to ARGV[3] (the id's time), from offset ARGV[4], at most
--          ARGV[5] of them per call
--
-- Returns { marked, examined }: how many ids this call marked read (already read ones are
-- not counted), and, for 'upTo', how many index entries it looked at (fewer than ARGV[5]:
-- the range is done).
local marked = 0
if ARGV[1] == 'ids' then
  for i = 2, #ARGV do
    local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
    if score then
      marked = marked + redis.call('ZADD', KEYS[2], 'NX', score, ARGV[i])
    end
  end
  return { marked, #ARGV - 1 }
end
local upTo = ARGV[2]
local entries = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[3], 'BYSCORE', 'LIMIT', ARGV[4],
  ARGV[5], 'WITHSCORES')
for i = 1, #entries, 2 do
  if entries[i] <= upTo then
    marked = marked + redis.call('ZADD', KEYS[2], 'NX', entries[i + 1], entries[i])
  end
end
return { marked, #entries / 2 }
