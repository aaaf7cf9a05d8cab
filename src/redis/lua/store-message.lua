-- The first step of a send (store_message in lib/store-message.lua), on the message's hash
-- tag.
--
-- KEYS[1]  message:{id}
-- KEYS[2]  delivery_confirmation:{id}
-- KEYS[3]  message:{id}:recipients
-- ARGV[1]  expiry as epoch milliseconds, or '' for none
-- ARGV[2]  now, epoch milliseconds
-- ARGV[3]  '1' when the message requires confirmation, else '0'
-- ARGV[4]  for an expiring broadcast, when KEYS[3] lapses (epoch milliseconds); else ''
-- ARGV[5]  n, the number of recipient mailboxes that follow
-- ARGV[6 .. 5+n]  the recipient mailboxes
-- ARGV[6+n ..]    the message hash's entries: field, value, field, value, ...
--
-- Returns StoreCode (src/redis/script-codes.ts): 1 (Written), 0 (AlreadyStored).
--- @include "lib/store-message.lua"
local n = tonumber(ARGV[5])
return store_message(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4],
  6, 5 + n, { unpack(ARGV, 6 + n, #ARGV) })
