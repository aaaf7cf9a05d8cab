-- Indexes one message in one mailbox's search index: its id in the index of each of its terms.
-- Every key is the mailbox's ({name}), so this runs unchanged on Redis Cluster.
--
-- KEYS[1]   mailbox:{name}:messages
-- KEYS[2]   mailbox:{name}:search-terms, the names of the mailbox's term keys (so that deleting
--           the mailbox can find them), a sorted set scored by when each key lapses ('+inf':
--           never); a set in earlier versions, turned into a sorted set here
-- KEYS[3..] mailbox:{name}:search:<term>, one per distinct term of the message (at most 256)
-- ARGV[1]   the message id
-- ARGV[2]   its createdAt, epoch milliseconds (the score: newest first is score order)
-- ARGV[3]   when its index entries lapse, epoch milliseconds: its expiresAt, or its createdAt
--           plus MAILBOX_MAX_AGE, whichever comes first; '' for never
-- ARGV[4]   '1' to trim each term's index first of the ids older than the mailbox's oldest
--           message (the mailbox dropped them), else '0'
-- ARGV[5]   now, epoch milliseconds
--
-- Each term's index lives as long as the longest-lived message in it: no expiry while it holds
-- a message that never lapses, else until the latest lapse time of its messages. Ids of
-- messages that left the mailbox are removed by the trim, by searches that meet them
-- (search-ids.lua), or with the key. The list of term keys scores each name by its key's
-- lapse time, drops the names whose keys have lapsed, and lives as long as the longest-lived
-- of them.
--
-- Returns how many of the terms were new for this message (0 when it was indexed before).
local id, score, lapse, now = ARGV[1], ARGV[2], ARGV[3], ARGV[5]
local listed = lapse == '' and '+inf' or lapse
if redis.call('TYPE', KEYS[2]).ok == 'set' then
  -- Written by an earlier version: each name scored by its key's lapse now (a key gone is
  -- dropped), and the list given the lifetime of the longest-lived of them.
  local names = redis.call('SMEMBERS', KEYS[2])
  redis.call('DEL', KEYS[2])
  local never, last = false, 0
  for _, name in ipairs(names) do
    local at = redis.call('PEXPIRETIME', name)
    if at == -1 then
      never = true
      redis.call('ZADD', KEYS[2], '+inf', name)
    elseif at > 0 then
      last = math.max(last, at)
      redis.call('ZADD', KEYS[2], at, name)
    end
  end
  if never then
    redis.call('PERSIST', KEYS[2])
  elseif last > 0 then
    redis.call('PEXPIREAT', KEYS[2], last)
  end
end
local below = nil
if ARGV[4] == '1' then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
  if oldest then
    below = '(' .. oldest
  end
end
local function keep(key, created)
  if lapse == '' then
    redis.call('PERSIST', key)
  elseif created then
    redis.call('PEXPIREAT', key, lapse)
  else
    -- GT leaves a key without expiry as it is: it holds a message that never lapses.
    redis.call('PEXPIREAT', key, lapse, 'GT')
  end
end

local listNew = redis.call('EXISTS', KEYS[2]) == 0
local added = 0
for i = 3, #KEYS do
  local key = KEYS[i]
  if below then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', below)
  end
  local created = redis.call('EXISTS', key) == 0
  added = added + redis.call('ZADD', key, score, id)
  keep(key, created)
  if created then
    redis.call('ZADD', KEYS[2], listed, key)
  else
    -- GT: a name listed as never lapsing stays so.
    redis.call('ZADD', KEYS[2], 'GT', listed, key)
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. now)
if redis.call('EXISTS', KEYS[2]) == 1 then
  keep(KEYS[2], listNew)
end
return added
