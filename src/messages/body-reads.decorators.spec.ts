import { Kind, parse, type FieldNode, type FragmentDefinitionNode } from 'graphql';
import { selectsBody } from './body-reads.decorators';

/** The root field of `document`'s operation, and its fragments, as a resolver's info holds them. */
function infoOf(document: string) {
  const parsed = parse(document);
  const fragments: Record<string, FragmentDefinitionNode> = {};
  let fieldNodes: FieldNode[] = [];
  for (const definition of parsed.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) {
      fragments[definition.name.value] = definition;
    } else if (definition.kind === Kind.OPERATION_DEFINITION) {
      fieldNodes = definition.selectionSet.selections as FieldNode[];
    }
  }
  return { fieldNodes, fragments };
}

describe(selectsBody.name, () => {
  it.each([
    ['{ thread(id: "t") { nodes { id sender subject } pageInfo { endCursor } } }', false],
    ['{ thread(id: "t") { pageInfo { hasNextPage } } }', false],
    ['{ thread(id: "t") { nodes { id content } } }', true],
    ['{ thread(id: "t") { nodes { id words: content } } }', true],
    ['{ thread(id: "t") { nodes { tokenEstimate } } }', true],
    ['{ thread(id: "t") { nodes { ... on Message { content } } } }', true],
    [
      '{ thread(id: "t") { nodes { ...m } } } fragment m on Message { id ...n } fragment n on Message { content }',
      true,
    ],
    ['{ thread(id: "t") { nodes { ...m ...m } } } fragment m on Message { id subject }', false],
    // Directives are not read: a skipped body still counts as selected.
    ['{ thread(id: "t") { nodes { content @skip(if: true) } } }', true],
  ])('%s: %s', (document, expected) => {
    expect(selectsBody(infoOf(document))).toBe(expected);
  });

  it('looks below its own field only', () => {
    const info = infoOf(
      '{ a: thread(id: "t") { nodes { id } } b: thread(id: "u") { nodes { content } } }',
    );
    expect(selectsBody({ ...info, fieldNodes: [info.fieldNodes[0]] })).toBe(false);
    expect(selectsBody({ ...info, fieldNodes: [info.fieldNodes[1]] })).toBe(true);
  });
});
