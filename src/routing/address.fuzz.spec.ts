import fc from 'fast-check';
import { AppError } from '../common/app-error';
import { assertMailboxName, assertTopic, assertTopicPattern } from './address';

/** The public naming rules, written independently of the code under test. */
const contractName = (value: string): boolean => /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(value);
const contractTopic = (value: string, wildcards: boolean): boolean => {
  const segments = value.split('.');
  return (
    segments.length <= 16 &&
    segments.every(
      (segment) =>
        /^[A-Za-z0-9_-]{1,64}$/.test(segment) ||
        (wildcards && (segment === '*' || segment === '#')),
    )
  );
};

const text = fc.oneof(
  fc.string({ maxLength: 140 }),
  fc.stringMatching(/^[A-Za-z0-9_.\-*#:{} ]{0,140}$/),
  fc
    .array(fc.stringMatching(/^([A-Za-z0-9_-]{1,5}|\*|#)$/), { minLength: 1, maxLength: 18 })
    .map((parts) => parts.join('.')),
);

function verdict(check: () => unknown): boolean {
  try {
    check();
    return true;
  } catch (error) {
    // Refusals are always coded input errors, never anything else.
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('BAD_USER_INPUT');
    return false;
  }
}

describe('address rules under property-based fuzzing', () => {
  it('accepts exactly the contract mailbox names (10,000 cases)', () => {
    fc.assert(
      fc.property(
        text,
        (value) => verdict(() => assertMailboxName(value, 'name')) === contractName(value),
      ),
      { numRuns: 10_000 },
    );
  });

  it('accepts exactly the contract topics and patterns (10,000 cases each)', () => {
    fc.assert(
      fc.property(
        text,
        (value) => verdict(() => assertTopic(value, 'topic')) === contractTopic(value, false),
      ),
      { numRuns: 10_000 },
    );
    fc.assert(
      fc.property(
        text,
        (value) =>
          verdict(() => assertTopicPattern(value, 'pattern')) === contractTopic(value, true),
      ),
      { numRuns: 10_000 },
    );
  });
});
