import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { StoredMessage } from '../messages/stored-message';
import { HmacSha256 } from './hmac-sha256';

/**
 * The signature format: `v1.<kid>.<mac>`, where `<mac>` is the unpadded base64url of
 * HMAC-SHA256(key, canonicalEnvelope(message)). See docs/concepts/provenance.md.
 */
export const SIGNATURE_VERSION = 'v1';

/** What a signature covers: the envelope the server stamps, and the content (by its SHA-256). */
export type SignedFields = Pick<
  StoredMessage,
  'id' | 'sender' | 'mode' | 'target' | 'threadId' | 'inReplyTo' | 'hop' | 'createdAt' | 'content'
>;

/** A key that signs or verifies: its id, which every signature names, and its bytes. */
export interface SigningKey {
  readonly kid: string;
  readonly secret: Buffer;
}

const MAC_BYTES = 32;
/**
 * Key ids are 8 hex digits (a configured key's derived from it, a generated key's random);
 * the form admits any id of up to 64 of `A-Z a-z 0-9 _ -`, and never a dot.
 */
const SIGNATURE = /^v1\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{43})$/;
/** Bytes of a generated key. */
const GENERATED_KEY_BYTES = 32;

/**
 * One field of the canonical encoding: `~` for null, else the UTF-8 byte length of the text in
 * decimal, a colon and the text. A reader can always tell where a field ends, so no two
 * different envelopes encode alike, whatever the fields hold (colons, digits, a lone `~`).
 */
function field(value: string | null): string {
  return value === null ? '~' : `${Buffer.byteLength(value, 'utf8')}:${value}`;
}

/** The SHA-256 of the content's UTF-8 bytes, in lower-case hex. */
export function contentDigest(content: string): string {
  return hash('sha256', content);
}

/**
 * The text a signature's MAC is computed over (as UTF-8): the version, then id, sender, mode,
 * target, threadId, inReplyTo, hop and createdAt (both in decimal) and the content's
 * SHA-256 in hex, each encoded by `field`. Fields outside the list (subject, metadata,
 * contentType, priority, correlationId, replyTo, replyBy, expiresAt) are not covered.
 * `digest`: the content's digest when the caller has it already (the send guard's request
 * does), so that the content is hashed once a send.
 */
export function canonicalEnvelope(
  message: SignedFields,
  digest = contentDigest(message.content),
): string {
  return (
    field(SIGNATURE_VERSION) +
    field(message.id) +
    field(message.sender) +
    field(message.mode) +
    field(message.target) +
    field(message.threadId) +
    field(message.inReplyTo) +
    field(String(message.hop)) +
    field(String(message.createdAt)) +
    field(digest)
  );
}

/** Each key's HMAC, made on its first use: a key's pads serve every MAC under it. */
const hmacs = new WeakMap<Buffer, HmacSha256>();

function hmacOf(secret: Buffer): HmacSha256 {
  let hmac = hmacs.get(secret);
  if (hmac === undefined) {
    hmac = new HmacSha256(secret);
    hmacs.set(secret, hmac);
  }
  return hmac;
}

/**
 * The signature of `message` under `key`: `v1.<kid>.<base64url mac>`, the MAC being
 * HMAC-SHA256 of the canonical envelope (`digest`: the content's, when the caller has it; see
 * canonicalEnvelope).
 */
export function signMessage(message: SignedFields, key: SigningKey, digest?: string): string {
  const mac = hmacOf(key.secret).base64url(canonicalEnvelope(message, digest));
  return `${SIGNATURE_VERSION}.${key.kid}.${mac}`;
}

/**
 * The key id and MAC a signature names; null for anything not of the v1 form. 43 base64url
 * characters carry 258 bits, and a decoder drops the last 2: only the one text the MAC encodes
 * to is taken, so that no two signatures of a message verify (and a check that compares the
 * text, as a verifier by hand may, agrees with this one).
 */
export function parseSignature(signature: string): { kid: string; mac: Buffer } | null {
  const parts = SIGNATURE.exec(signature);
  if (!parts) return null;
  const mac = Buffer.from(parts[2], 'base64url');
  return mac.length === MAC_BYTES && mac.toString('base64url') === parts[2]
    ? { kid: parts[1], mac }
    : null;
}

/** Whether `mac` is the MAC of `message` under `secret`, compared in constant time. */
export function macMatches(message: SignedFields, mac: Buffer, secret: Buffer): boolean {
  const expected = hmacOf(secret).bytes(canonicalEnvelope(message));
  return mac.length === expected.length && timingSafeEqual(mac, expected);
}

/** The id of a configured key: the first 8 hex digits of the SHA-256 of its text. */
export function deriveKeyId(text: string): string {
  return hash('sha256', text).slice(0, 8);
}

/**
 * A generated key written out for MESSAGE_SIGNING_OLD_KEYS: `<kid>:base64url:<secret>`, its
 * kid and its secret as `signing:{keys}:secrets` holds them.
 */
const GENERATED_KEY_TEXT = /^([0-9a-f]{8}):base64url:([A-Za-z0-9_-]{43})$/;

/**
 * A key given as text (MESSAGE_SIGNING_KEY, MESSAGE_SIGNING_OLD_KEYS): its UTF-8 bytes under
 * the kid derived from it; or, in the form `<kid>:base64url:<secret>`, a generated key that
 * signed before MESSAGE_SIGNING_KEY was set, which then verifies from the environment alone.
 */
export function configuredKey(text: string): SigningKey {
  const generated = GENERATED_KEY_TEXT.exec(text);
  if (generated !== null) {
    const secret = Buffer.from(generated[2], 'base64url');
    if (secret.length === GENERATED_KEY_BYTES && secret.toString('base64url') === generated[2]) {
      return { kid: generated[1], secret };
    }
  }
  return { kid: deriveKeyId(text), secret: Buffer.from(text, 'utf8') };
}

/** A new random key with a random id, for when no key is configured. */
export function generateSigningKey(): SigningKey {
  return {
    kid: randomBytes(4).toString('hex'),
    secret: randomBytes(GENERATED_KEY_BYTES),
  };
}
