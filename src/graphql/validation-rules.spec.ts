import {
  buildSchema,
  getIntrospectionQuery,
  KnownFragmentNamesRule,
  NoFragmentCyclesRule,
  parse,
  specifiedRules,
  validate,
  type ValidationRule,
} from 'graphql';
import { documentLimitsRule, graphqlValidationRules } from './validation-rules';

const schema = buildSchema(`
  type Node { id: ID! child: Node name: String }
  type Query { node: Node nodes: [Node!]! }
`);
const limits = { maxDepth: 4, maxAliases: 3, maxFields: 20, maxIntrospectionDepth: 15 };
const introspectionLimits = { ...limits, maxDepth: 12, maxFields: 500 };

/** Rules in the transports' order: graphql-js's own first, then the service's. */
function errors(query: string, rules: ValidationRule[] = [documentLimitsRule(limits)]): string[] {
  return validate(schema, parse(query), [...specifiedRules, ...rules]).map(
    (error) => error.message,
  );
}

/**
 * The messages, and the milliseconds validation took at best of three runs: the work is the
 * same every run, while another process or a garbage collection can slow any one of them.
 */
/**
 * What a linear walk of these documents stays under even on a loaded machine (a few ms when
 * idle), while the walks the rules prevent (pairwise, or fragments expanded) take seconds
 * or never end.
 */
const WALK_BOUND_MS = 500;

function timed(query: string): { found: string[]; ms: number } {
  const document = parse(query);
  let found: string[] = [];
  let ms = Infinity;
  for (let run = 0; run < 3; run++) {
    const started = performance.now();
    const errors = validate(schema, document, [...specifiedRules, documentLimitsRule(limits)]);
    ms = Math.min(ms, performance.now() - started);
    found = errors.map((error) => error.message);
  }
  return { found, ms };
}

/** `levels` fragments, each spreading the next twice: 2^levels paths when expanded. */
function doubling(levels: number, bottom: string): string {
  const chain = Array.from(
    { length: levels },
    (_, i) => `fragment f${i} on Node { ...f${i + 1} ...f${i + 1} }`,
  ).join(' ');
  return `{ node { ...f0 } } ${chain} ${bottom}`;
}

/** What graphql-js's own rule says about `query`. */
function standardMessages(query: string, rule: ValidationRule): string[] {
  return validate(schema, parse(query), [rule]).map((error) => error.message);
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

  it('refuses too many aliases, counted exactly', () => {
    const aliases = Array.from({ length: 1000 }, (_, i) => `a${i}: node { id }`).join(' ');
    expect(errors(`{ ${aliases} }`)).toEqual([
      'query: the number of aliases is 1000; the limit is 3',
      'query: the number of fields is 2000; the limit is 20',
    ]);
    expect(errors('{ a: node { id } b: node { id } c: node { id } d: node { id } }')).toEqual([
      'query: the number of aliases is 4; the limit is 3',
    ]);
  });

  it('refuses too many fields, counting fragment spreads every time they are used', () => {
    const spreads = Array.from({ length: 8 }, (_, i) => `n${i}: nodes { ...f }`).join(' ');
    const found = errors(`{ ${spreads} } fragment f on Node { id name child { id } }`);
    expect(found).toContain('query: the number of fields is 40; the limit is 20');
  });

  it('counts 30 levels of fragments doubling each other exactly, in linear time', () => {
    // 2^30 ids when expanded: each fragment is measured once and its count reused.
    const { found, ms } = timed(doubling(30, 'fragment f30 on Node { id }'));
    expect(found).toEqual([`query: the number of fields is ${2 ** 30 + 1}; the limit is 20`]);
    expect(ms).toBeLessThan(WALK_BOUND_MS);
  });

  it('refuses a doubling chain that ends in an unknown fragment before expanding it', () => {
    const query = doubling(24, '');
    const { found, ms } = timed(query);
    expect(found).toEqual(standardMessages(query, KnownFragmentNamesRule).slice(0, 1));
    expect(found).toEqual(['Unknown fragment "f24".']);
    expect(ms).toBeLessThan(WALK_BOUND_MS);
  });

  it('refuses a doubling chain that ends in a cycle before expanding it', () => {
    const query = doubling(24, 'fragment f24 on Node { ...f0 }');
    const { found, ms } = timed(query);
    expect(found).toEqual(standardMessages(query, NoFragmentCyclesRule));
    expect(found[0]).toMatch(/^Cannot spread fragment "f0" within itself via "f1", "f2", /);
    expect(ms).toBeLessThan(WALK_BOUND_MS);
  });

  it('refuses a fragment that spreads itself, as graphql-js words it', () => {
    const query = '{ node { ...a } } fragment a on Node { child { ...a } }';
    expect(errors(query)).toEqual(['Cannot spread fragment "a" within itself.']);
    const pair =
      '{ node { ...a } } fragment a on Node { child { ...b } } fragment b on Node { child { ...a } }';
    expect(errors(pair)).toEqual(['Cannot spread fragment "a" within itself via "b".']);
  });

  it('refuses 10,000 fields of one name before graphql-js compares them pairwise', () => {
    const { found, ms } = timed(`{ ${'node { id } '.repeat(10_000)} }`);
    expect(found).toEqual(['query: the number of fields is 20000; the limit is 20']);
    expect(ms).toBeLessThan(WALK_BOUND_MS);
  });

  it('answers only its refusal: graphql-js rules do not walk a refused document', () => {
    const deep = '{ node { child { child { child { child { nope } } } } } }';
    expect(errors(deep)).toEqual(['query: the selection depth is 6; the limit is 4']);
    expect(errors('{ node { nope } }')).toEqual([
      'Cannot query field "nope" on type "Node". Did you mean "name"?',
    ]);
  });

  it('measures fragments that no operation uses', () => {
    const wide = Array.from({ length: 30 }, () => 'id').join(' ');
    const found = errors(`{ node { id } } fragment unused on Node { ${wide} }`);
    expect(found).toEqual(['query: the number of fields is 30; the limit is 20']);
  });

  it('lets the standard introspection query through the depth limit', () => {
    const rules = [documentLimitsRule(introspectionLimits)];
    expect(errors(getIntrospectionQuery(), rules)).toEqual([]);
    // Without the allowance it is 15 deep.
    expect(
      errors(getIntrospectionQuery(), [
        documentLimitsRule({ ...introspectionLimits, maxIntrospectionDepth: 0 }),
      ]),
    ).toEqual(['query: the selection depth is 15; the limit is 12']);
  });

  it('holds introspection deeper than the standard query to the depth limit', () => {
    const rules = [documentLimitsRule(introspectionLimits)];
    const ofType = (depth: number): string =>
      depth === 0 ? 'name' : `ofType { ${ofType(depth - 1)} }`;
    expect(errors(`{ __type(name: "Node") { ${ofType(13)} } }`, rules)).toEqual([]);
    expect(errors(`{ __type(name: "Node") { ${ofType(14)} } }`, rules)).toEqual([
      'query: the selection depth is 16; the limit is 12',
    ]);
    const { found, ms } = timed(`{ __type(name: "Node") { ${ofType(400)} } }`);
    expect(found).toEqual([
      'query: the selection depth is 402; the limit is 4',
      'query: the number of fields is 402; the limit is 20',
    ]);
    expect(ms).toBeLessThan(WALK_BOUND_MS);
  });

  it('measures a fragment on an introspection type as introspection', () => {
    const query =
      '{ __schema { types { ...deep } } } fragment deep on __Type { fields { type { ofType { ofType { name } } } } }';
    expect(errors(query)).toEqual([]);
  });
});

describe(graphqlValidationRules.name, () => {
  it('lets the standard introspection query through outside production', () => {
    expect(errors(getIntrospectionQuery(), graphqlValidationRules(false))).toEqual([]);
  });

  it('refuses introspection in production, saying so', () => {
    const found = errors(getIntrospectionQuery(), graphqlValidationRules(true));
    expect(found[0]).toBe(
      'GraphQL introspection has been disabled, but the requested query contained the field "__schema".',
    );
  });
});
