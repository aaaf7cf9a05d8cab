import { MemoSlot } from './memo-slot';

describe('MemoSlot', () => {
  it('remembers a value on its owner, and nothing on another object', () => {
    const slot = new MemoSlot<number>('size');
    const owner = { id: 'a' };
    expect(slot.get(owner)).toBeUndefined();
    slot.set(owner, 42);
    expect(slot.get(owner)).toBe(42);
    expect(slot.get({ id: 'a' })).toBeUndefined();
    slot.set(owner, 7);
    expect(slot.get(owner)).toBe(7);
  });

  it('keeps the values of two slots on one owner apart, even with the same description', () => {
    const first = new MemoSlot<string>('model');
    const second = new MemoSlot<string>('model');
    const owner = {};
    first.set(owner, 'one');
    second.set(owner, 'two');
    expect(first.get(owner)).toBe('one');
    expect(second.get(owner)).toBe('two');
  });

  it('leaves what the owner shows unchanged: its keys, its JSON, its copies and equality', () => {
    const slot = new MemoSlot<object>('model');
    const owner = { id: 'a', content: 'hello' };
    const payload = ['id', 'a', 'content', 'hello'];
    slot.set(owner, { derived: true });
    slot.set(payload, { derived: true });
    expect(Object.keys(owner)).toEqual(['id', 'content']);
    expect(JSON.stringify(owner)).toBe('{"id":"a","content":"hello"}');
    expect(JSON.stringify(payload)).toBe('["id","a","content","hello"]');
    const copy = { ...owner };
    expect(slot.get(copy)).toBeUndefined();
    expect(owner).toEqual({ id: 'a', content: 'hello' });
    expect(payload).toEqual(['id', 'a', 'content', 'hello']);
  });

  it('keeps nothing on an owner that cannot take a property', () => {
    const slot = new MemoSlot<number>('size');
    const frozen = Object.freeze({ id: 'a' });
    expect(() => slot.set(frozen, 1)).not.toThrow();
    expect(slot.get(frozen)).toBeUndefined();
  });
});
