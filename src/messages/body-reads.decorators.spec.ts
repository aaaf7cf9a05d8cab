import { Kind, parse, type FieldNode, type FragmentDefinitionNode } from 'graphql';
import { bodyNeed } from './body-reads.decorators';

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

describe(bodyNeed.name, () => {
  it.each([
    ['{ thread(id: "t") { nodes { id sender subject } pageInfo { endCursor } } }', 'none'],
    ['{ thread(id: "t") { pageInfo { hasNextPage } } }', 'none'],
    ['{ thread(id: "t") { nodes { id content } } }', 'whole'],
    ['{ thread(id: "t") { nodes { id words: content } } }', 'whole'],
    ['{ thread(id: "t") { nodes { tokenEstimate } } }', 'whole'],
    ['{ thread(id: "t") { nodes { ... on Message { content } } } }', 'whole'],
    [
      '{ thread(id: "t") { nodes { ...m } } } fragment m on Message { id ...n } fragment n on Message { content }',
      'whole',
    ],
    ['{ thread(id: "t") { nodes { ...m ...m } } } fragment m on Message { id subject }', 'none'],
    // Directives are not read: a skipped body still counts as selected.
    ['{ thread(id: "t") { nodes { content @skip(if: true) } } }', 'whole'],
    ['{ thread(id: "t") { nodes { id preview } } }', 'preview'],
    ['{ thread(id: "t") { nodes { id previewTruncated } } }', 'preview'],
    ['{ thread(id: "t") { nodes { ...m } } } fragment m on Message { preview }', 'preview'],
    // The whole body wins, before or after the preview.
    ['{ thread(id: "t") { nodes { preview content } } }', 'whole'],
    ['{ thread(id: "t") { nodes { tokenEstimate preview } } }', 'whole'],
  ])('%s: %s', (document, expected) => {
    expect(bodyNeed(infoOf(document))).toBe(expected);
  });

  it('looks below its own field only', () => {
    const info = infoOf(
      '{ a: thread(id: "t") { nodes { id } } b: thread(id: "u") { nodes { content } } }',
    );
    expect(bodyNeed({ ...info, fieldNodes: [info.fieldNodes[0]] })).toBe('none');
    expect(bodyNeed({ ...info, fieldNodes: [info.fieldNodes[1]] })).toBe('whole');
  });
});
