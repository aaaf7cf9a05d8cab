-- The end of a mailbox's read prefix: the last of the oldest messages that are all read, so
-- that a listing of unread messages starts after it instead of walking every read message of
-- a long-lived mailbox. The read set is a subset of the index, scored alike (mark-read.lua),
-- so the message at rank r ends an all-read prefix exactly when it has rank r in the read
-- set, and that holds for a prefix of ranks: a binary search finds the longest.
--
-- KEYS[1]  mailbox:{name}:messages
-- KEYS[2]  mailbox:{name}:read
--
-- Returns the id of the prefix's last message, or '' when the oldest message is unread (or
-- the mailbox has none read). Read only.
local low, high, last = 0, redis.call('ZCARD', KEYS[2]) - 1, ''
while low <= high do
  local middle = math.floor((low + high) / 2)
  local id = redis.call('ZRANGE', KEYS[1], middle, middle)[1]
  if id and redis.call('ZRANK', KEYS[2], id) == middle then
    last, low = id, middle + 1
  else
    high = middle - 1
  end
end
return last
