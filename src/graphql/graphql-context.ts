/** Each GraphQL operation's context over HTTP: the request, for the guard to read. */
export function graphqlContext({ req }: { req: unknown }): { req: unknown } {
  return { req };
}
