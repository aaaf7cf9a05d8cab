import { createHmac, randomBytes } from 'node:crypto';
import { HmacSha256 } from './hmac-sha256';

function reference(secret: Buffer, text: string): string {
  return createHmac('sha256', secret).update(text, 'utf8').digest('base64url');
}

describe(HmacSha256.name, () => {
  // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
  it('gives the published HMAC-SHA256 of RFC 4231', () => {
    const hmac = new HmacSha256(Buffer.from('Jefe'));

    expect(hmac.bytes('what do ya want for nothing?').toString('hex')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  // RFC 4231, test case 6: a key longer than the block is hashed first.
  it('hashes a key longer than the block first, as RFC 4231 does', () => {
    const hmac = new HmacSha256(Buffer.alloc(131, 0xaa));

    expect(
      hmac.bytes('Test Using Larger Than Block-Size Key - Hash Key First').toString('hex'),
    ).toBe('60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54');
  });

  it.each([0, 1, 32, 63, 64, 65, 200])(
    'gives what createHmac gives under a %i-byte key',
    (size) => {
      const secret = randomBytes(size);
      const hmac = new HmacSha256(secret);
      const texts = [
        '',
        'a',
        'é'.repeat(300),
        '\u{1F600} mixed 文字',
        'x'.repeat(5000),
        'short again',
      ];

      for (const text of texts) expect(hmac.base64url(text)).toBe(reference(secret, text));
    },
  );

  it('keeps each MAC independent of the texts before it, longer or shorter', () => {
    const secret = randomBytes(32);
    const hmac = new HmacSha256(secret);
    const long = hmac.base64url('y'.repeat(2000));

    expect(hmac.base64url('z')).toBe(reference(secret, 'z'));
    expect(hmac.base64url('y'.repeat(2000))).toBe(long);
  });

  it('gives the MAC as 32 bytes and as their base64url alike', () => {
    const hmac = new HmacSha256(randomBytes(32));

    expect(hmac.bytes('text')).toHaveLength(32);
    expect(hmac.bytes('text').toString('base64url')).toBe(hmac.base64url('text'));
  });
});
