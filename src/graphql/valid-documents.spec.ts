import { buildSchema, type GraphQLError } from 'graphql';
import { ValidDocuments, type CheckedOperation } from './valid-documents';

const schema = buildSchema(`
  type Event { id: ID! name: String next: Event }
  type Query { event: Event }
  type Subscription { events: Event! }
`);

/** As both transports build it: graphql-js's rules, then the service's. */
function documents(maxTokens = 1_000): ValidDocuments {
  return ValidDocuments.forService(schema, false, { maxTokens });
}

function refusal(query: string, maxTokens?: number): GraphQLError {
  const checked = documents(maxTokens).check(query);
  if (!('errors' in checked)) throw new Error('the document was accepted');
  expect(checked.errors).toHaveLength(1);
  return checked.errors[0];
}

/**
 * What checking these documents stays under even on a loaded machine (a few ms when idle),
 * while the work the checks prevent (fragments expanded, fields compared pairwise) takes
 * minutes or never ends: a bound on the kind of work, not a speed figure.
 */
const LINEAR_BOUND_MS = 1_000;

/** The milliseconds `check` took at best of three runs, each on a fresh cache. */
function fastest(query: string): number {
  let ms = Infinity;
  for (let run = 0; run < 3; run++) {
    const checker = documents(40_000);
    const started = performance.now();
    checker.check(query);
    ms = Math.min(ms, performance.now() - started);
  }
  return ms;
}

describe(ValidDocuments.name, () => {
  it('keeps one parsed tree per valid document text', () => {
    const checker = documents();
    const first = checker.check('subscription { events { id } }');
    const second = checker.check('subscription { events { id } }');
    expect('document' in first && 'document' in second).toBe(true);
    if ('document' in first && 'document' in second) expect(second.document).toBe(first.document);
  });

  it('refuses a document over the token limit, naming the limit', () => {
    const error = refusal(`subscription { events { ${'id '.repeat(2_000)} } }`);
    expect(error.message).toBe('query: the document has more than 1000 tokens; the limit is 1000');
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'query', limit: 1000 });
  });

  it('refuses braces nested deeper than the parser can follow, naming the depth limit', () => {
    const levels = 20_000;
    const error = refusal(`${'{ event '.repeat(levels)}${'}'.repeat(levels)}`, 100_000);
    expect(error.message).toBe(
      'query: the document nests too deeply to be parsed; the depth limit is 12',
    );
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'query', limit: 12 });
  });

  it('answers an ordinary syntax error as graphql-js words it', () => {
    expect(refusal('subscription { events { id }').message).toBe(
      'Syntax Error: Expected Name, found <EOF>.',
    );
  });

  it('refuses hostile documents without expanding fragments or comparing fields pairwise', () => {
    const chain = Array.from(
      { length: 32 },
      (_, i) => `fragment f${i} on Event { ...f${i + 1} ...f${i + 1} }`,
    ).join(' ');
    const doubling = `subscription { events { ...f0 } } ${chain}`;
    expect(refusal(doubling).message).toBe('Unknown fragment "f32".');
    expect(fastest(doubling)).toBeLessThan(LINEAR_BOUND_MS);

    const sameNamed = `subscription { events { ${'id '.repeat(30_000)} } }`;
    expect(refusal(sameNamed, 40_000).message).toBe(
      'query: the number of fields is 30001; the limit is 500',
    );
    expect(fastest(sameNamed)).toBeLessThan(LINEAR_BOUND_MS);
  });

  describe('operation', () => {
    function errorsOf(checked: CheckedOperation): readonly GraphQLError[] {
      if (!('errors' in checked)) throw new Error('the operation was accepted');
      return checked.errors;
    }

    it('picks the named operation of a valid document', () => {
      const checked = documents().operation(
        'query A { event { id } } query B { event { name } }',
        'B',
      );
      expect('operation' in checked && checked.operation.name?.value).toBe('B');
    });

    it('answers a syntax error as GRAPHQL_PARSE_FAILED and a schema error as GRAPHQL_VALIDATION_FAILED', () => {
      const [parse] = errorsOf(documents().operation('{ event {', undefined));
      expect(parse.extensions.code).toBe('GRAPHQL_PARSE_FAILED');
      const [invalid] = errorsOf(documents().operation('{ event { nam } }', undefined));
      expect(invalid.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(invalid.message).toMatch(/Did you mean "name"\?$/);
    });

    it('names no schema field in production', () => {
      const production = ValidDocuments.forService(schema, true, {});
      const [invalid] = errorsOf(production.operation('{ event { nam } }', undefined));
      expect(invalid.message).toBe('Cannot query field "nam" on type "Event".');
    });

    it('answers a missing or unknown operation name as OPERATION_RESOLUTION_FAILURE', () => {
      const two = 'query A { event { id } } query B { event { id } }';
      for (const name of [undefined, 'C']) {
        const [error] = errorsOf(documents().operation(two, name));
        expect(error.extensions.code).toBe('OPERATION_RESOLUTION_FAILURE');
      }
    });
  });
});
