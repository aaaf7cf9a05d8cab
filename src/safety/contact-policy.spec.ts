import fc from 'fast-check';
import { accepts, checkPolicy } from './contact-policy';

describe(accepts.name, () => {
  it('matches names literally, with * for any run of characters', () => {
    expect(accepts(['*'], 'anyone')).toBe(true);
    expect(accepts(['planner'], 'planner')).toBe(true);
    expect(accepts(['planner'], 'planner2')).toBe(false);
    expect(accepts(['team-*'], 'team-a')).toBe(true);
    expect(accepts(['team-*'], 'team-')).toBe(true);
    expect(accepts(['team-*'], 'other')).toBe(false);
    expect(accepts(['*-bot'], 'review-bot')).toBe(true);
    expect(accepts(['a*b*c'], 'abc')).toBe(true);
    expect(accepts(['a*b*c'], 'aXbYc')).toBe(true);
    expect(accepts(['a*b*c'], 'acb')).toBe(false);
    expect(accepts(['ab*ba'], 'aba')).toBe(false);
    expect(accepts(['x', 'y.*'], 'y.z')).toBe(true);
  });

  it('agrees with a regular expression built from the pattern', () => {
    const name = fc.stringMatching(/^[a-c.*-]{1,8}$/);
    fc.assert(
      fc.property(name, fc.stringMatching(/^[a-c.-]{0,8}$/), (pattern, sender) => {
        const regex = new RegExp(`^${pattern.replace(/[.-]/g, '\\$&').replace(/\*/g, '.*')}$`, 's');
        expect(accepts([pattern], sender)).toBe(regex.test(sender));
      }),
    );
  });
});

describe(checkPolicy.name, () => {
  it('keeps valid patterns once each', () => {
    expect(checkPolicy(['a', 'team-*', 'a'])).toEqual(['a', 'team-*']);
  });

  it('refuses an empty policy, bad characters and too many patterns, naming the field', () => {
    expect(() => checkPolicy([])).toThrow(/acceptFrom/);
    expect(() => checkPolicy(['ok', 'no/slash'])).toThrow(/acceptFrom\[1\]/);
    expect(() => checkPolicy(['?'])).toThrow(/acceptFrom\[0\]/);
    expect(() => checkPolicy(Array.from({ length: 101 }, (_, i) => `m${i}`))).toThrow(
      /at most 100/,
    );
  });
});
