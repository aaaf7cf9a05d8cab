import { buildSchema, parse, type OperationDefinitionNode } from 'graphql';
import { MAX_VARIABLE_LIST, refusedVariable } from './variable-fields';

const schema = buildSchema(`
  input Inner { a: Int, b: [String!] }
  input Outer { name: String!, inner: Inner, many: [Inner!], json: JSON }
  scalar JSON
  type Query { x(o: Outer, list: [Outer!], n: Int, ids: [ID!]): Int }
`);

function operation(source: string): OperationDefinitionNode {
  return parse(source).definitions[0] as OperationDefinitionNode;
}

const query = operation(
  'query($o: Outer, $list: [Outer!], $n: Int) { x(o: $o, list: $list, n: $n) }',
);

describe(refusedVariable.name, () => {
  it('passes known fields at every depth, scalars, JSON values and absent variables', () => {
    expect(
      refusedVariable(schema, query, {
        o: { name: 'x', inner: { a: 1, b: ['y'] }, many: [{ a: 2 }], json: { anything: { k: 1 } } },
        n: 3,
      }),
    ).toBeNull();
    expect(refusedVariable(schema, query, null)).toBeNull();
    expect(refusedVariable(schema, query, { undeclared: { k: 1 } })).toBeNull();
  });

  it('names the first unknown member by its path, in objects, nested ones and lists', () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ o: { name: 'x', k0: 1, k1: 2 } }, 'variables.o.k0', 'Outer'],
      [{ o: { name: 'x', inner: { a: 1, z: 2 } } }, 'variables.o.inner.z', 'Inner'],
      [{ o: { name: 'x', many: [{ a: 1 }, { q: 1 }] } }, 'variables.o.many.1.q', 'Inner'],
      [{ list: [{ name: 'a' }, { name: 'b', extra: true }] }, 'variables.list.1.extra', 'Outer'],
      // A single value where a list is declared is coerced to a list of one.
      [{ list: { name: 'a', extra: true } }, 'variables.list.extra', 'Outer'],
    ];
    for (const [variables, field, type] of cases) {
      const error = refusedVariable(schema, query, variables);
      expect(error?.extensions).toEqual({ code: 'BAD_USER_INPUT', field });
      expect(error?.message).toContain(`is not a field of input type "${type}"`);
    }
  });

  it('walks nothing for an operation of scalar variables', () => {
    const scalars = operation('query($n: Int) { x(n: $n) }');
    expect(refusedVariable(schema, scalars, { n: 1, extra: { k: 1 } })).toBeNull();
  });

  it('refuses a list longer than the limit, of scalars or of input objects, at any depth', () => {
    const ids = operation('query($ids: [ID!]) { x(ids: $ids) }');
    const long = Array.from({ length: MAX_VARIABLE_LIST + 1 }, () => true);
    const cases: Array<[OperationDefinitionNode, Record<string, unknown>, string]> = [
      [ids, { ids: long }, 'variables.ids'],
      [query, { list: long }, 'variables.list'],
      [query, { o: { name: 'x', inner: { b: long } } }, 'variables.o.inner.b'],
    ];
    for (const [document, variables, field] of cases) {
      const error = refusedVariable(schema, document, variables);
      expect(error?.extensions).toEqual({
        code: 'BAD_USER_INPUT',
        field,
        limit: MAX_VARIABLE_LIST,
      });
      expect(error?.message).toContain(`a list of ${MAX_VARIABLE_LIST + 1} elements`);
    }
    expect(refusedVariable(schema, ids, { ids: long.slice(1) })).toBeNull();
  });

  it('leaves values of the wrong shape to graphql-js', () => {
    expect(refusedVariable(schema, query, { o: 'text', list: [1, null], n: { k: 1 } })).toBeNull();
  });
});
