import { compileTopicPattern, literalPrefix } from './topic-pattern';

describe(compileTopicPattern.name, () => {
  const cases: Array<[string, string, boolean]> = [
    ['agents.planner.status', 'agents.planner.status', true],
    ['agents.planner.status', 'agents.planner', false],
    ['agents.*.status', 'agents.planner.status', true],
    ['agents.*.status', 'agents.status', false],
    ['agents.*.status', 'agents.a.b.status', false],
    ['agents.#', 'agents.planner.status', true],
    ['agents.#', 'agents', true],
    ['agents.#', 'agentsx.planner', false],
    ['agents.x', 'agents.planner.status', false],
    ['#', 'anything.at.all', true],
    ['#', 'one', true],
    ['*', 'one', true],
    ['*', 'one.two', false],
    ['#.status', 'status', true],
    ['#.status', 'a.b.c.status', true],
    ['#.status', 'a.b.c.state', false],
    ['a.#.z', 'a.z', true],
    ['a.#.z', 'a.b.c.z', true],
    ['a.#.z', 'a.b.c.y', false],
    ['#.#', 'a', true],
    ['*.#.*', 'a', false],
    ['*.#.*', 'a.b', true],
  ];

  it.each(cases)('%s against %s is %s', (pattern, topic, expected) => {
    expect(compileTopicPattern(pattern)(topic)).toBe(expected);
  });

  it('stays fast on patterns full of # (memoised)', () => {
    const pattern = Array.from({ length: 16 }, () => '#').join('.') + '.never';
    const topic = Array.from({ length: 16 }, (_, i) => `s${i}`).join('.');
    expect(compileTopicPattern(pattern)(topic)).toBe(false);
  });
});

describe(literalPrefix.name, () => {
  it.each([
    ['agents.planner.status', 'agents.planner.status'],
    ['agents.*.status', 'agents'],
    ['agents.planner.#', 'agents.planner'],
    ['#.status', ''],
    ['*', ''],
  ])('%s starts every match with %j', (pattern, prefix) => {
    expect(literalPrefix(pattern)).toBe(prefix);
  });
});
