-- store_message: the first write of every send, on the message's hash tag: the message hash
-- with its expiry, the PENDING confirmation entries of a tracked message, and the recipients
-- of an expiring broadcast (so that cleanup can reach their indexes). A retried send writes
-- what the first one left out and changes nothing that is there: the first write wins.
--
-- Arguments: the keys message:{id}, delivery_confirmation:{id}, message:{id}:recipients;
--   expiry: epoch milliseconds, or '' for none
--   now: epoch milliseconds
--   tracked: '1' when the message requires confirmation, else '0'
--   recordUntil: for an expiring broadcast, when the recipient set lapses; else ''
--   ARGV[r1 .. rn]: the recipient mailboxes (r1 > rn for none)
--   entries: the message hash's entries, a table: field, value, field, value, ...
--
-- Confirmation fields: messageId, sender, priority, expiresAt, createdAt, open (unfinished
-- recipients), and r:<mailbox> = JSON {status, n (attempts), waiting, next, log,
-- deliveredAt, reason}.
--
-- Returns StoreCode (src/redis/script-codes.ts): 1 (Written) when this call wrote the
-- message hash, 0 (AlreadyStored) when it was there (a retried send).
local function store_message(messageKey, confirmationKey, recipientsKey, expiry, now, tracked,
                             recordUntil, r1, rn, entries)
  local written = 0
  if redis.call('EXISTS', messageKey) == 0 then
    redis.call('HSET', messageKey, unpack(entries))
    if expiry ~= '' then
      redis.call('PEXPIREAT', messageKey, expiry)
    end
    written = 1
  end

  if tracked == '1' and rn >= r1 then
    if redis.call('EXISTS', confirmationKey) == 0 then
      -- From the entries given, not from the hash: a retried send of a message that has
      -- expired meanwhile finds no hash to read.
      local header = {}
      for i = 1, #entries - 1, 2 do
        header[entries[i]] = entries[i + 1]
      end
      redis.call('HSET', confirmationKey, 'messageId', header.id, 'sender', header.sender,
        'priority', header.priority, 'expiresAt', expiry, 'createdAt', now, 'open', 0)
    end
    local created = 0
    for i = r1, rn do
      created = created + redis.call('HSETNX', confirmationKey, 'r:' .. ARGV[i],
        cjson.encode({ status = 'PENDING', n = 0, waiting = true }))
    end
    if created > 0 then
      redis.call('HINCRBY', confirmationKey, 'open', created)
      redis.call('PERSIST', confirmationKey)
    end
  end

  if recordUntil ~= '' and rn >= r1 then
    -- In slices: unpack has a limit far below the number of mailboxes a broadcast may reach.
    for i = r1, rn, 1000 do
      redis.call('SADD', recipientsKey, unpack(ARGV, i, math.min(i + 999, rn)))
    end
    redis.call('PEXPIREAT', recipientsKey, recordUntil)
  end
  return written
end
