import { moreCharactersThan } from './text-length';

describe(moreCharactersThan.name, () => {
  it('counts characters by code point, not by UTF-16 unit', () => {
    expect(moreCharactersThan('😀'.repeat(1024), 1024)).toBe(false);
    expect(moreCharactersThan('😀'.repeat(1025), 1024)).toBe(true);
    expect(moreCharactersThan('中'.repeat(1024), 1024)).toBe(false);
    expect(moreCharactersThan('x'.repeat(1025), 1024)).toBe(true);
    expect(moreCharactersThan('', 0)).toBe(false);
  });
});
