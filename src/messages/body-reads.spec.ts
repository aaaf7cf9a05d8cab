import { BodyBudget, ownBodyReads } from './body-reads';

describe(BodyBudget.name, () => {
  it('takes bodies in order while they fit, and stops at the first that does not', () => {
    const budget = new BodyBudget(100);
    expect(budget.take([40, 40, 30, 5])).toBe(2);
    // Shared: a later read gets what is left, in its own order.
    expect(budget.take([10, 30])).toBe(1);
    expect(budget.take([11])).toBe(0);
  });

  it('always takes the first body, however large', () => {
    const budget = new BodyBudget(100);
    expect(budget.take([500, 1])).toBe(1);
    expect(budget.take([1])).toBe(0);
  });

  it('counts a message that is gone (size 0) as no first body', () => {
    const budget = new BodyBudget(100);
    expect(budget.take([0, 0, 500])).toBe(3);
    // Past the limit (the first body was larger), a message that is gone still costs nothing.
    expect(budget.take([0, 1])).toBe(1);
  });
});

describe(ownBodyReads.name, () => {
  it('refuses as PAYLOAD_TOO_LARGE with the limit', () => {
    const reads = ownBodyReads(64);
    expect(reads.take([64, 1])).toBe(1);
    expect(reads.refusal()).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      details: { field: 'messages', limit: 64 },
    });
  });
});
