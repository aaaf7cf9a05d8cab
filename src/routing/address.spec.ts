import { AppError } from '../common/app-error';
import { assertMailboxName, assertTopic, assertTopicPattern } from './address';

describe('address rules', () => {
  describe(assertMailboxName.name, () => {
    it.each(['a', 'alice', 'A1_b.c-d', 'x'.repeat(128), '0agent'])('accepts %j', (name) => {
      expect(assertMailboxName(name, 'name')).toBe(name);
    });

    it.each([
      'a:b',
      '*',
      '{x}',
      '',
      'x'.repeat(129),
      'a\u0000b',
      'a b',
      '.hidden',
      '-dash',
      'a*',
      'a?b',
      'a[b]',
      'é',
    ])('rejects %j with BAD_USER_INPUT naming the field', (name) => {
      let thrown: unknown;
      try {
        assertMailboxName(name, 'input.target');
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(AppError);
      expect(thrown).toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'input.target' } });
    });

    it('rejects values that are not strings', () => {
      expect(() => assertMailboxName(42, 'name')).toThrow(/name/);
    });
  });

  describe(assertTopic.name, () => {
    it.each(['agents', 'agents.planner.status', Array(16).fill('s').join('.'), 'a_b-c.D9'])(
      'accepts %j',
      (topic) => {
        expect(assertTopic(topic, 'target')).toBe(topic);
      },
    );

    it.each([
      '',
      'agents.*',
      'agents.#',
      'a..b',
      '.a',
      'a.',
      'a b',
      'a:b',
      '{x}',
      Array(17).fill('s').join('.'),
      'x'.repeat(65),
    ])('rejects %j', (topic) => {
      expect(() => assertTopic(topic, 'input.target')).toThrow(/input\.target/);
    });
  });

  describe(assertTopicPattern.name, () => {
    it.each(['agents.*.status', 'agents.#', '#', '*', 'a.#.b'])('accepts %j', (pattern) => {
      expect(assertTopicPattern(pattern, 'pattern')).toBe(pattern);
    });

    it.each(['agents.a*', 'agents.?', 'a..b', '', 'a.[b]', Array(17).fill('*').join('.')])(
      'rejects %j',
      (pattern) => {
        expect(() => assertTopicPattern(pattern, 'pattern')).toThrow(/pattern/);
      },
    );
  });
});
