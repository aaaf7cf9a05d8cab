-- Reads one stretch of a mailbox's search index, newest first: the ids that the index of every
-- query term holds and that the mailbox still holds. It walks the index of the rarest term and
-- looks the others up, so its cost is bounded by the scan budget, whatever the sizes.
--
-- KEYS[1]   mailbox:{name}:metadata (whether the mailbox exists)
-- KEYS[2]   mailbox:{name}:messages
-- KEYS[3..] mailbox:{name}:search:<term>, one per query term
-- ARGV[1]   cursor: a message id; only ids less than it are read ('' for the newest)
-- ARGV[2]   the cursor's timestamp in epoch milliseconds ('+inf' without a cursor)
-- ARGV[3]   how many matching ids at most
-- ARGV[4]   how many ids of the rarest term's index to look at, at most (the scan budget)
--
-- Returns { code, last, looked, id... }, the ids newest first. `code` is a SearchCode
-- (src/search/search-codes.ts): NoMailbox (no metadata: nothing read), End (the rarest index
-- has nothing older than the last id returned) or More (stopped at `wanted` ids or at the
-- budget). `last` is the last id looked at ('' when none): the cursor of the next call.
-- `looked` is how many ids of the rarest index it looked at.
--
-- Ids that the mailbox no longer holds (expired and cleaned up, or removed) are removed from
-- the query terms' indexes on the way, so that the index heals where it is read.
local NO_MAILBOX, END, MORE = 0, 1, 2
local BATCH = 200

if redis.call('EXISTS', KEYS[1]) == 0 then
  return { NO_MAILBOX, '', 0 }
end

local driver, rarest = nil, nil
for k = 3, #KEYS do
  local size = redis.call('ZCARD', KEYS[k])
  if size == 0 then
    return { END, '', 0 }
  end
  if rarest == nil or size < rarest then
    driver, rarest = k, size
  end
end

local cursor = ARGV[1]
local wanted = tonumber(ARGV[3])
local budget = tonumber(ARGV[4])
-- The walk goes down from `max`, skipping the `skip` entries of score `max` already seen:
-- entries of one millisecond can be more than a batch.
local max, maxScore, skip = ARGV[2], tonumber(ARGV[2]), 0
local found, stale = { 0, '', 0 }, {}
local looked, last, code = 0, '', END

while true do
  local batch = redis.call('ZRANGE', KEYS[driver], max, '-inf', 'BYSCORE', 'REV', 'LIMIT', skip,
    BATCH, 'WITHSCORES')
  local stopped = false
  for i = 1, #batch, 2 do
    local id, score = batch[i], batch[i + 1]
    local value = tonumber(score)
    if value == maxScore then
      skip = skip + 1
    else
      max, maxScore, skip = score, value, 1
    end
    looked = looked + 1
    -- Entries of the cursor's millisecond that are not older than it were read before.
    if cursor == '' or id < cursor then
      last = id
      if not redis.call('ZSCORE', KEYS[2], id) then
        stale[#stale + 1] = id
      else
        local all = true
        for k = 3, #KEYS do
          if k ~= driver and not redis.call('ZSCORE', KEYS[k], id) then
            all = false
            break
          end
        end
        if all then
          found[#found + 1] = id
        end
      end
    end
    if #found - 3 >= wanted or looked >= budget then
      stopped = true
      break
    end
  end
  if stopped then
    code = MORE
    break
  end
  if #batch < 2 * BATCH then
    break
  end
end

-- After the walk: removing while walking would shift the offsets it counts.
if #stale > 0 then
  for k = 3, #KEYS do
    redis.call('ZREM', KEYS[k], unpack(stale))
  end
end

found[1], found[2], found[3] = code, last, looked
return found
