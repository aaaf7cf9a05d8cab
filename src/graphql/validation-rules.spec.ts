import { buildSchema, parse, specifiedRules, validate } from 'graphql';
import { documentLimitsRule } from './validation-rules';

const schema = buildSchema(`
  type Node { id: ID! child: Node name: String }
  type Query { node: Node nodes: [Node!]! }
`);
const limits = { maxDepth: 4, maxAliases: 3, maxFields: 20 };

function errors(query: string): string[] {
  return validate(schema, parse(query), [...specifiedRules, documentLimitsRule(limits)]).map(
    (error) => error.message,
  );
}

describe(documentLimitsRule.name, () => {
  it('passes a document within every limit', () => {
    expect(errors('{ node { id child { id child { name } } } }')).toEqual([]);
  });

  it('refuses a document deeper than the limit, also through fragments', () => {
    expect(errors('{ node { child { child { child { child { id } } } } } }')).toEqual([
      'query: the selection depth is 6; the limit is 4',
    ]);
    expect(
      errors(
        'query { node { ...deep } } fragment deep on Node { child { child { child { child { id } } } } }',
      ),
    ).toEqual(['query: the selection depth is 6; the limit is 4']);
  });

  it('refuses too many aliases', () => {
    const aliases = Array.from({ length: 1000 }, (_, i) => `a${i}: node { id }`).join(' ');
    expect(errors(`{ ${aliases} }`)).toContainEqual(
      expect.stringMatching(/^query: the number of aliases is at least \d+; the limit is 3$/),
    );
    expect(errors('{ a: node { id } b: node { id } c: node { id } d: node { id } }')).toEqual([
      'query: the number of aliases is 4; the limit is 3',
    ]);
  });

  it('refuses too many fields, counting fragment spreads every time they are used', () => {
    const spreads = Array.from({ length: 8 }, (_, i) => `n${i}: nodes { ...f }`).join(' ');
    const found = errors(`{ ${spreads} } fragment f on Node { id name child { id } }`);
    expect(found).toContain('query: the number of fields is 40; the limit is 20');
  });

  it('stays fast on fragments that fan out exponentially', () => {
    const levels = Array.from(
      { length: 30 },
      (_, i) => `fragment f${i} on Node { child { ...f${i + 1} ...f${i + 1} } }`,
    ).join(' ');
    // 2^30 paths when expanded naively: this returns only because counting stops early.
    const found = errors(`{ node { ...f0 } } ${levels} fragment f30 on Node { id }`);
    expect(found).toContainEqual(
      expect.stringMatching(/^query: the number of fields is at least \d+; the limit is 20$/),
    );
  });

  it('does not loop on fragment cycles (reported by the standard rules)', () => {
    const found = errors(
      '{ node { ...a } } fragment a on Node { child { ...b } } fragment b on Node { child { ...a } }',
    );
    expect(found.some((message) => /cannot spread fragment/i.test(message))).toBe(true);
  });
});
