import { bearerToken, issueMailboxToken, sameSecret, tokenDigest, tokenMailbox } from './tokens';

describe(issueMailboxToken.name, () => {
  it('names its mailbox and carries 256 random bits', () => {
    const token = issueMailboxToken('agent.planner-1');
    expect(tokenMailbox(token)).toBe('agent.planner-1');
    expect(token).toMatch(/^mbx_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(issueMailboxToken('a')).not.toBe(issueMailboxToken('a'));
  });
});

describe(tokenMailbox.name, () => {
  it.each([
    'mbx_',
    'mbx_abc',
    'plain-token',
    `mbx_${Buffer.from('a:b').toString('base64url')}.secret`,
    `mbx_${Buffer.from('{x}').toString('base64url')}.secret`,
    `mbx_${Buffer.from('').toString('base64url')}.secret`,
    `mbx_${'A'.repeat(500)}.x`,
  ])('refuses %j: no user text that breaks the name rule reaches a key', (token) => {
    expect(tokenMailbox(token)).toBeNull();
  });
});

describe(tokenDigest.name, () => {
  it('is a SHA-256 hex digest that does not contain the token', () => {
    const token = issueMailboxToken('x');
    expect(tokenDigest(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(tokenDigest(token)).not.toContain(token);
  });
});

describe(sameSecret.name, () => {
  it('compares exactly', () => {
    expect(sameSecret('abc', 'abc')).toBe(true);
    expect(sameSecret('abc', 'abd')).toBe(false);
    expect(sameSecret('abc', 'abcd')).toBe(false);
  });
});

describe(bearerToken.name, () => {
  it.each([
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['Bearer   abc  ', 'abc'],
    ['Basic abc', null],
    ['Bearer', null],
    ['Bearer a b', null],
    [undefined, null],
    [42, null],
  ])('%j -> %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });
});
