import { hash } from 'node:crypto';

/** SHA-256's block: HMAC pads its key to this many bytes (RFC 2104). */
const BLOCK_BYTES = 64;
const DIGEST_BYTES = 32;
/** Room for a text's bytes after the inner pad at first; it grows for a longer one. */
const FIRST_TEXT_BYTES = 512;

/**
 * HMAC-SHA256 (RFC 2104) under one key, on node:crypto's one-shot `hash`: the key's inner and
 * outer pads are made once, and each MAC is two hashes of buffers that are reused. It gives
 * what `createHmac('sha256', key)` gives (the tests compare the two). Every send is signed, and
 * each `createHmac` builds an OpenSSL context of its own, looks the digest up anew and leaves
 * a native object for the garbage collector: in the router's profile that was most of what
 * signing cost.
 *
 * Synchronous and single-threaded, like all JavaScript here, so one instance's buffers serve
 * every call.
 */
export class HmacSha256 {
  private inner: Buffer;
  private readonly outer = Buffer.alloc(BLOCK_BYTES + DIGEST_BYTES);

  constructor(secret: Buffer) {
    const key =
      secret.length > BLOCK_BYTES ? Buffer.from(hash('sha256', secret, 'hex'), 'hex') : secret;
    this.inner = Buffer.alloc(BLOCK_BYTES + FIRST_TEXT_BYTES);
    for (let i = 0; i < BLOCK_BYTES; i += 1) {
      const byte = i < key.length ? key[i] : 0;
      this.inner[i] = byte ^ 0x36;
      this.outer[i] = byte ^ 0x5c;
    }
  }

  /** The MAC of the UTF-8 bytes of `text`, in unpadded base64url. */
  base64url(text: string): string {
    return hash('sha256', this.outerInput(text), 'base64url');
  }

  /** The MAC of the UTF-8 bytes of `text`. */
  bytes(text: string): Buffer {
    return Buffer.from(this.base64url(text), 'base64url');
  }

  /** The outer pad followed by the inner hash: the input of the outer hash. */
  private outerInput(text: string): Buffer {
    const length = Buffer.byteLength(text, 'utf8');
    if (BLOCK_BYTES + length > this.inner.length) {
      const grown = Buffer.alloc(BLOCK_BYTES + 2 * length);
      this.inner.copy(grown, 0, 0, BLOCK_BYTES);
      this.inner = grown;
    }
    this.inner.write(text, BLOCK_BYTES, 'utf8');
    const innerHash = hash('sha256', this.inner.subarray(0, BLOCK_BYTES + length), 'hex');
    this.outer.write(innerHash, BLOCK_BYTES, 'hex');
    return this.outer;
  }
}
