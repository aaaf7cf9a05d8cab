import { GraphQLError, OperationTypeNode, type GraphQLResolveInfo } from 'graphql';
import { chargedContent, MAX_RESPONSE_CONTENT_CHARS } from './response-budget';

function infoOf(operation: OperationTypeNode, alias: string): GraphQLResolveInfo {
  return {
    operation: { operation },
    path: { prev: { prev: undefined, key: alias, typename: 'Query' }, key: 'content' },
  } as unknown as GraphQLResolveInfo;
}

describe(chargedContent.name, () => {
  const quarter = 'x'.repeat(MAX_RESPONSE_CONTENT_CHARS / 4);

  it('counts the bodies of one operation and refuses the one that passes the limit', () => {
    const context = {};
    for (let i = 0; i < 4; i++) {
      expect(chargedContent(quarter, context, infoOf(OperationTypeNode.QUERY, `m${i}`))).toBe(
        quarter,
      );
    }
    let thrown: unknown;
    try {
      chargedContent('y', context, infoOf(OperationTypeNode.QUERY, 'm4'));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(GraphQLError);
    expect((thrown as GraphQLError).extensions).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      field: 'm4.content',
      limit: MAX_RESPONSE_CONTENT_CHARS,
    });
  });

  it('always answers the first body, however large', () => {
    const huge = 'x'.repeat(MAX_RESPONSE_CONTENT_CHARS + 1);
    const context = {};
    expect(chargedContent(huge, context, infoOf(OperationTypeNode.QUERY, 'm0'))).toBe(huge);
    expect(() => chargedContent('y', context, infoOf(OperationTypeNode.QUERY, 'm1'))).toThrow(
      /m1\.content: the message bodies of this response exceed the limit/,
    );
  });

  it("keeps each operation's count apart, and counts no subscription event", () => {
    const subscription = {};
    for (let i = 0; i < 8; i++) {
      chargedContent(quarter, subscription, infoOf(OperationTypeNode.SUBSCRIPTION, 'feed'));
    }
    expect(subscription).toEqual({});
    expect(chargedContent(quarter, {}, infoOf(OperationTypeNode.QUERY, 'm0'))).toBe(quarter);
  });
});
