-- Marks messages of a mailbox read. Only ids in the mailbox's index are marked, so the read
-- set stays a subset of the index and unread = ZCARD(messages) - ZCARD(read).
--
-- KEYS[1]  mailbox:{name}:messages
-- KEYS[2]  mailbox:{name}:read      (zset: read message ids, scored like the index)
-- ARGV[1]  'ids': ARGV[2..] are message ids
--          'upTo': every id up to and including ARGV[2] (a message id; ARGV[3] its time), at
--          most ARGV[6] index entries a call, those after the id ARGV[4] ('0' from the start;
--          ARGV[5] its time, or '-inf'), the last entry the call before looked at. From an
--          entry, not an offset: entries that cleanup removes meanwhile shift no one past.
--
-- Returns { marked, examined, last }: how many ids this call marked read (already read ones
-- are not counted), and, for 'upTo', how many index entries it looked at (fewer than ARGV[6]:
-- the range is done) and the last of them (where the next call starts).
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
local upTo, after, wanted = ARGV[2], ARGV[4], tonumber(ARGV[6])
-- Scores are the ids' own times, so score order is id order; entries of the start's
-- millisecond up to the start itself are passed over.
local examined, last, offset = 0, after, 0
while examined < wanted do
  local entries = redis.call('ZRANGE', KEYS[1], ARGV[5], ARGV[3], 'BYSCORE', 'LIMIT', offset,
    wanted, 'WITHSCORES')
  if #entries == 0 then
    break
  end
  for i = 1, #entries, 2 do
    local id = entries[i]
    if id > after and examined < wanted then
      examined = examined + 1
      last = id
      if id <= upTo then
        marked = marked + redis.call('ZADD', KEYS[2], 'NX', entries[i + 1], id)
      end
    end
  end
  offset = offset + #entries / 2
end
return { marked, examined, last }
