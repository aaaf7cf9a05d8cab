-- Reads a message hash as HGETALL does, with its content cut to its first bytes: what a
-- listing shows of a body (MCP check_inbox), without sending the whole body to the service.
--
-- KEYS[1]  message:{id}
-- ARGV[1]  bytes: the most of the content to return. A cut never splits a UTF-8 character:
--          it falls before the lead byte of the character that would not fit whole.
--
-- Returns {entries, cut}: the hash's field/value list (empty when the message is gone), with
-- the content cut, and 1 when it was cut (the body is longer than what is returned), else 0.
local entries = redis.call('HGETALL', KEYS[1])
local limit = tonumber(ARGV[1])
local cut = 0
for i = 1, #entries, 2 do
  if entries[i] == 'content' and #entries[i + 1] > limit then
    local content, at = entries[i + 1], limit
    -- Bytes 128 to 191 (0x80 to 0xBF) continue a character: back off until the next starts one.
    while at > 0 do
      local byte = string.byte(content, at + 1)
      if byte < 128 or byte >= 192 then
        break
      end
      at = at - 1
    end
    entries[i + 1] = string.sub(content, 1, at)
    cut = 1
  end
end
return { entries, cut }
