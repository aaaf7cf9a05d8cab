import { bodyOf } from './message.model';

describe(bodyOf.name, () => {
  it('answers the content of a message read with its body', () => {
    expect(bodyOf({ content: 'the body' })).toBe('the body');
  });

  it('refuses a message read without its body, rather than answer an empty one', () => {
    expect(() => bodyOf({ content: '', contentCut: true })).toThrow('selectsBody');
  });
});
