import { originAllowed, sameOrigin } from './origin';

describe(originAllowed.name, () => {
  const local = ['localhost', '127.0.0.1', '::1'];

  it('lets a request without Origin through: MCP clients outside a browser send none', () => {
    expect(originAllowed(undefined, local)).toBe(true);
  });

  it('allows the listed host names on any port and scheme', () => {
    expect(originAllowed('http://localhost:5173', local)).toBe(true);
    expect(originAllowed('https://127.0.0.1', local)).toBe(true);
    expect(originAllowed('http://[::1]:3000', local)).toBe(true);
    expect(originAllowed('http://LOCALHOST:1', local)).toBe(true);
  });

  it('takes an IPv6 host in the list with brackets or without', () => {
    expect(originAllowed('http://[::1]:3000', ['[::1]'])).toBe(true);
    expect(originAllowed('http://[fe80::1]', ['fe80::1'])).toBe(true);
    expect(originAllowed('http://[::2]', ['[::1]'])).toBe(false);
  });

  it('refuses other hosts, look-alikes and what is not a URL', () => {
    expect(originAllowed('http://evil.example', local)).toBe(false);
    expect(originAllowed('http://localhost.evil.example', local)).toBe(false);
    expect(originAllowed('null', local)).toBe(false);
    expect(originAllowed('', local)).toBe(false);
  });

  it('allows any Origin with *', () => {
    expect(originAllowed('http://evil.example', '*')).toBe(true);
  });
});

describe(sameOrigin.name, () => {
  it("is the page's host and port as the request's Host header names them", () => {
    expect(sameOrigin('https://mail.example.com', 'mail.example.com')).toBe(true);
    expect(sameOrigin('http://mail.example.com:3000', 'MAIL.example.com:3000')).toBe(true);
    expect(sameOrigin('http://mail.example.com:3001', 'mail.example.com:3000')).toBe(false);
    expect(sameOrigin('http://evil.example', 'mail.example.com')).toBe(false);
    expect(sameOrigin('null', 'mail.example.com')).toBe(false);
    expect(sameOrigin(undefined, 'mail.example.com')).toBe(false);
    expect(sameOrigin('http://mail.example.com', undefined)).toBe(false);
  });
});
