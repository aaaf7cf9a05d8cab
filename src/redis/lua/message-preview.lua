-- Reads a message hash as HGETALL does, with its content cut to its first bytes: what a
-- listing shows of a body (MCP check_inbox, a GraphQL page that selects `preview`), or none
-- of it (a GraphQL page that selects no field of the body), without sending the whole body
-- to the service.
--
-- KEYS[1]  message:{id}
-- ARGV[1]  bytes: the most of the content to return. A cut never splits a UTF-8 character:
--          it falls before the lead byte of the character that would not fit whole.
--
-- Returns {entries, cut}: the hash's field/value list (empty when the message is gone), with
-- the content cut, and 1 when it was cut (the body is longer than what is returned), else 0.
-- A content that fits is read as it is; one that does not is read whole to be cut (Lua has no
-- other way to its start), save with 0 bytes, where it is not read at all.
local key, limit = KEYS[1], tonumber(ARGV[1])
if redis.call('HSTRLEN', key, 'content') <= limit then
  return { redis.call('HGETALL', key), 0 }
end
local others = {}
for _, field in ipairs(redis.call('HKEYS', key)) do
  if field ~= 'content' then
    others[#others + 1] = field
  end
end
local entries = {}
if #others > 0 then
  for i, value in ipairs(redis.call('HMGET', key, unpack(others))) do
    entries[2 * i - 1], entries[2 * i] = others[i], value
  end
end
local content = ''
if limit > 0 then
  content = redis.call('HGET', key, 'content')
  local at = limit
  -- Bytes 128 to 191 (0x80 to 0xBF) continue a character: back off until the next starts one.
  while at > 0 do
    local byte = string.byte(content, at + 1)
    if byte < 128 or byte >= 192 then
      break
    end
    at = at - 1
  end
  content = string.sub(content, 1, at)
end
entries[#entries + 1] = 'content'
entries[#entries + 1] = content
return { entries, 1 }
