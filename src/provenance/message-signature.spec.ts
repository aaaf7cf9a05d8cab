import { createHash } from 'node:crypto';
import { AddressingMode } from '../messages/message.model';
import {
  canonicalEnvelope,
  configuredKey,
  contentDigest,
  deriveKeyId,
  generateSigningKey,
  macMatches,
  parseSignature,
  signMessage,
  type SignedFields,
} from './message-signature';

const KEY_TEXT = '0123456789abcdef0123456789abcdef';

const message: SignedFields = {
  id: '01JGZ5K3Y6Q2V8W9X0A1B2C3D4',
  sender: 'alice',
  mode: AddressingMode.DIRECT,
  target: 'bob',
  threadId: 'thread-é',
  inReplyTo: null,
  hop: 1,
  createdAt: 1893553445678,
  content: 'héllo 😀',
};

/** The MAC a signature carries. */
function mac(signature: string): Buffer {
  const parsed = parseSignature(signature);
  if (parsed === null) throw new Error(`not a signature: ${signature}`);
  return parsed.mac;
}

describe(canonicalEnvelope.name, () => {
  it('encodes each field as its UTF-8 byte length, a colon and the text; null as ~', () => {
    expect(canonicalEnvelope(message)).toBe(
      '2:v1' +
        '26:01JGZ5K3Y6Q2V8W9X0A1B2C3D4' +
        '5:alice' +
        '6:DIRECT' +
        '3:bob' +
        // é is two bytes in UTF-8.
        '9:thread-é' +
        '~' +
        '1:1' +
        '13:1893553445678' +
        `64:${createHash('sha256').update('héllo 😀', 'utf8').digest('hex')}`,
    );
  });

  it('tells text moved from one field to the next apart', () => {
    const a = canonicalEnvelope({ ...message, target: 'ab', threadId: 'c' });
    const b = canonicalEnvelope({ ...message, target: 'a', threadId: 'bc' });
    const c = canonicalEnvelope({ ...message, target: 'a', threadId: '1:bc' });

    expect(new Set([a, b, c]).size).toBe(3);
  });

  it('tells null, an empty text and a text "~" apart', () => {
    const encodings = [null, '', '~'].map((inReplyTo) =>
      canonicalEnvelope({ ...message, inReplyTo }),
    );

    expect(new Set(encodings).size).toBe(3);
  });

  it('covers the content by its SHA-256 only', () => {
    const long = 'x'.repeat(100_000);

    expect(canonicalEnvelope({ ...message, content: long })).toContain(`64:${contentDigest(long)}`);
    expect(canonicalEnvelope({ ...message, content: long })).not.toContain('xxxx');
  });

  it('encodes a lone surrogate as U+FFFD, which is what Redis keeps of it', () => {
    // A JavaScript string may hold a lone surrogate; its UTF-8 form (and so the stored copy)
    // holds U+FFFD instead. Both must sign alike, or a stored message would never verify.
    const sent = canonicalEnvelope({ ...message, threadId: 'a\ud800b' });
    const stored = canonicalEnvelope({
      ...message,
      threadId: Buffer.from('a\ud800b', 'utf8').toString('utf8'),
    });

    expect(Buffer.from(sent, 'utf8')).toEqual(Buffer.from(stored, 'utf8'));
  });
});

describe(contentDigest.name, () => {
  it('is the SHA-256 of the UTF-8 bytes in lower-case hex', () => {
    expect(contentDigest('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(contentDigest('')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });
});

describe(signMessage.name, () => {
  it('matches a signature computed independently (docs/concepts/provenance.md, Python)', () => {
    expect(signMessage(message, configuredKey(KEY_TEXT))).toBe(
      'v1.3eb1bd43.N1T_RlY0aNpZSyzDV7-Pe6vFAVss7W5pv28jU2ZS8Ho',
    );
  });

  it('names the key and carries an unpadded base64url HMAC-SHA256', () => {
    const key = generateSigningKey();

    const signature = signMessage(message, key);

    expect(signature).toMatch(new RegExp(`^v1\\.${key.kid}\\.[A-Za-z0-9_-]{43}$`));
    expect(mac(signature)).toHaveLength(32);
  });

  it("signs with the content's digest as given, so that a caller which has it hashes once", () => {
    const key = configuredKey(KEY_TEXT);

    expect(signMessage(message, key, contentDigest(message.content))).toBe(
      signMessage(message, key),
    );
    // The digest given is what is covered: another content's gives another signature.
    expect(signMessage(message, key, contentDigest('other'))).not.toBe(signMessage(message, key));
  });
});

describe(macMatches.name, () => {
  const key = configuredKey(KEY_TEXT);
  const signed = mac(signMessage(message, key));

  it('accepts the message as signed', () => {
    expect(macMatches(message, signed, key.secret)).toBe(true);
  });

  it.each<[string, Partial<SignedFields>]>([
    ['id', { id: '01JGZ5K3Y6Q2V8W9X0A1B2C3D5' }],
    ['sender', { sender: 'mallory' }],
    ['mode', { mode: AddressingMode.BROADCAST }],
    ['target', { target: 'carol' }],
    ['target, removed', { target: null }],
    ['threadId', { threadId: 'thread-e' }],
    ['inReplyTo', { inReplyTo: '01JGZ5K3Y6Q2V8W9X0A1B2C3D0' }],
    ['hop', { hop: 0 }],
    ['createdAt', { createdAt: message.createdAt + 1 }],
    ['content', { content: 'héllo 😀 ' }],
  ])('refuses the message with another %s', (_field, change) => {
    expect(macMatches({ ...message, ...change }, signed, key.secret)).toBe(false);
  });

  it('refuses a MAC made with another key', () => {
    const other = mac(signMessage(message, configuredKey(`${KEY_TEXT}!`)));

    expect(macMatches(message, other, key.secret)).toBe(false);
  });

  it('refuses a MAC of another length without comparing it', () => {
    expect(macMatches(message, signed.subarray(0, 16), key.secret)).toBe(false);
  });
});

describe(parseSignature.name, () => {
  it('reads the kid and the 32-byte MAC', () => {
    const signature = signMessage(message, configuredKey(KEY_TEXT));

    expect(parseSignature(signature)).toEqual({ kid: '3eb1bd43', mac: mac(signature) });
  });

  it.each([
    ['empty', ''],
    ['another version', 'v2.3eb1bd43.N1T_RlY0aNpZSyzDV7-Pe6vFAVss7W5pv28jU2ZS8Ho'],
    ['padded', 'v1.3eb1bd43.N1T_RlY0aNpZSyzDV7-Pe6vFAVss7W5pv28jU2ZS8Ho='],
    ['standard base64', 'v1.3eb1bd43.N1T/RlY0aNpZSyzDV7+Pe6vFAVss7W5pv28jU2ZS8Ho'],
    ['short', 'v1.3eb1bd43.N1T_RlY0aNpZSyzDV7-Pe6vFAVss7W5pv28jU2ZS8H'],
    ['without a kid', 'v1..N1T_RlY0aNpZSyzDV7-Pe6vFAVss7W5pv28jU2ZS8Ho'],
    ['with a dotted kid', 'v1.3eb1.bd43.N1T_RlY0aNpZSyzDV7-Pe6vFAVss7W5pv28jU2ZS8Ho'],
    // The same 32 bytes, with bits set past them in the last character ('o' encodes them all).
    ...['p', 'q', 'r'].map((last) => [
      `ending in ${last}, not the MAC's own text`,
      `v1.3eb1bd43.N1T_RlY0aNpZSyzDV7-Pe6vFAVss7W5pv28jU2ZS8H${last}`,
    ]),
  ])('reads nothing from a signature that is %s', (_case, signature) => {
    expect(parseSignature(signature)).toBeNull();
  });
});

describe('signing keys', () => {
  it('derive a configured key id from the first 8 hex digits of its SHA-256', () => {
    const digest = createHash('sha256').update(KEY_TEXT).digest('hex');

    expect(deriveKeyId(KEY_TEXT)).toBe(digest.slice(0, 8));
    expect(configuredKey(KEY_TEXT)).toEqual({
      kid: digest.slice(0, 8),
      secret: Buffer.from(KEY_TEXT, 'utf8'),
    });
  });

  it('take a generated key written out as <kid>:base64url:<secret>, as Redis keeps it', () => {
    const generated = generateSigningKey();
    const text = `${generated.kid}:base64url:${generated.secret.toString('base64url')}`;

    expect(configuredKey(text)).toEqual(generated);
    const signature = signMessage(message, generated);
    expect(macMatches(message, mac(signature), configuredKey(text).secret)).toBe(true);
    // Anything else of about that form is a key text like any other.
    for (const other of [text.toUpperCase(), `${text}x`, text.replace('base64url', 'base64')]) {
      expect(configuredKey(other)).toEqual({
        kid: deriveKeyId(other),
        secret: Buffer.from(other, 'utf8'),
      });
    }
  });

  it('generate 32 random bytes under a random 8-hex-digit kid', () => {
    const [a, b] = [generateSigningKey(), generateSigningKey()];

    expect(a.kid).toMatch(/^[0-9a-f]{8}$/);
    expect(a.secret).toHaveLength(32);
    expect(a.kid).not.toBe(b.kid);
    expect(a.secret.equals(b.secret)).toBe(false);
  });
});
