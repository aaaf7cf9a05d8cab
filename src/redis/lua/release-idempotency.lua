-- Gives back a sender's idempotency key claimed for a send that was refused after the claim
-- (its target not registered, nobody to answer its request): nothing was stored under the
-- id, so a later send with the key is a new send, not a repeat of one that never happened.
-- Only while the key is still the id's: a GET then a DEL from the client could delete a claim
-- made in between by another send.
--
-- KEYS[1]  idempotency:{sender}:<sha256 of the key>
-- KEYS[2]  mailbox:{sender}:idempotency_keys (sorted set: key names by when they lapse)
-- ARGV[1]  the message id the key was claimed for
--
-- Returns 1 when the key was given back, 0 when it lapsed or names another id.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], KEYS[1])
return 1
