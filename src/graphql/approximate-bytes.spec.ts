import { approximateBytes } from './approximate-bytes';

describe(approximateBytes.name, () => {
  it('counts a string by its length', () => {
    expect(approximateBytes('x'.repeat(1000))).toBe(1000);
  });

  it('is never less than the text of an object sent as JSON', () => {
    const message = {
      id: '01J0000000000000000000000A',
      content: 'hello '.repeat(500),
      subject: 'greetings',
      metadata: { tags: ['a', 'bb', 'ccc'], nested: { deep: 'value', count: 3 } },
      createdAt: new Date(0),
      expiresAt: null,
      requireConfirmation: false,
    };

    expect(approximateBytes(message)).toBeGreaterThanOrEqual(JSON.stringify(message).length - 100);
    expect(approximateBytes(message)).toBeLessThan(JSON.stringify(message).length * 2);
  });

  it('grows with the content it holds', () => {
    expect(approximateBytes({ content: 'x'.repeat(10_000) })).toBeGreaterThan(
      approximateBytes({ content: 'x'.repeat(100) }) + 9_000,
    );
  });

  it('gives the same size for the same object measured again', () => {
    const event = { content: 'x'.repeat(5000), metadata: { a: [1, 2, 3] } };

    expect(approximateBytes(event)).toBe(approximateBytes(event));
  });

  it('stops at a nesting that JSON input cannot reach', () => {
    let deep: Record<string, unknown> = { leaf: 'x' };
    for (let level = 0; level < 10_000; level += 1) deep = { next: deep };

    expect(approximateBytes(deep)).toBeGreaterThan(0);
  });
});
