-- Forgets a mailbox deletion once the mailbox's entries are gone, unless the name was deleted
-- again meanwhile (a later deletion time, whose entries may not be gone yet).
--
-- KEYS[1]  mailboxes:{index}:deleting
-- ARGV[1]  the mailbox name
-- ARGV[2]  the deletion time the caller finished, epoch milliseconds
--
-- Returns how many deletions were forgotten: 1, or 0.
local at = redis.call('ZSCORE', KEYS[1], ARGV[1])
if at and tonumber(at) == tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
