import { HELD_LIMIT, HeldMessages } from './held-messages';
import type { PushedMessage } from './stored-message';

const message = (id: string, content = 'x'): PushedMessage =>
  ({ id, content, sender: 'a', target: 'b' }) as unknown as PushedMessage;

describe(HeldMessages.name, () => {
  it('holds up to its count, then refuses', () => {
    const held = new HeldMessages();
    for (let index = 0; index < HELD_LIMIT; index += 1) {
      expect(held.add(message(String(index).padStart(5, '0')))).toBe(true);
    }
    expect(held.add(message('99999'))).toBe(false);
    expect(held.takeAll()).toHaveLength(HELD_LIMIT);
    expect(held.add(message('99999'))).toBe(true);
  });

  it('holds up to its bytes, then refuses', () => {
    const held = new HeldMessages();
    const big = 'x'.repeat(1024 * 1024);
    let added = 0;
    while (held.add(message(String(added), big))) added += 1;
    expect(added).toBeGreaterThan(4);
    expect(added).toBeLessThan(9);
  });

  it('gives back what is up to an id in id order, and keeps the rest', () => {
    const held = new HeldMessages();
    for (const id of ['c', 'a', 'e', 'b']) held.add(message(id));
    expect(held.takeUpTo('c').map((m) => m.id)).toEqual(['a', 'b', 'c']);
    expect(held.takeAll().map((m) => m.id)).toEqual(['e']);
  });

  it('ends a feed with how to resume', () => {
    expect(HeldMessages.overflow().message).toMatch(/resubscribe with after = the last id/);
  });
});
