-- The sender's side of the safety guards for the sends of one event-loop turn, where every
-- key lives on one node (standalone Redis, Sentinel): for each send in turn, send_guard
-- (lib/send-guard.lua), the same function send-guard.lua runs, and the recipient's contact
-- policy read beside it. Not run on Cluster, where senders and recipients are in different
-- slots.
--
-- KEYS, five per send, send i's at 5i-4 .. 5i:
--   mailbox:{sender}:metadata, mailbox:{sender}:pair:<recipient>, mailbox:{sender}:dup:<sha256>,
--   mailbox:{sender}:tokens:<day>, and the recipient's mailbox:{recipient}:metadata (for a
--   send without a recipient, the sender's metadata again: nothing is read from it)
-- ARGV, eight per send, send i's at 8i-7 .. 8i, as send-guard.lua's ARGV[1..8]
--
-- Returns three values per send: the SendGuardCode and its detail (as send_guard), then the
-- recipient's contact policy as stored (`acceptFrom`), or '' when it has none or the send has
-- no recipient.
--- @include "lib/send-guard.lua"
local answers = {}
for m = 1, #KEYS / 5 do
  local key = 5 * m - 4
  local at = 8 * m - 7
  local recipient = ARGV[at + 6]
  local answer = send_guard(KEYS[key], KEYS[key + 1], KEYS[key + 2], KEYS[key + 3], ARGV[at],
    ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4], ARGV[at + 5], recipient,
    ARGV[at + 7])
  local policy = ''
  if recipient ~= '' then
    policy = redis.call('HGET', KEYS[key + 4], 'acceptFrom') or ''
  end
  answers[3 * m - 2] = answer[1]
  answers[3 * m - 1] = answer[2]
  answers[3 * m] = policy
end
count_send_guards()
return answers
