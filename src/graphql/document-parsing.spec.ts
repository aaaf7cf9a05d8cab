import { formatParseLimit } from './document-parsing';

describe(formatParseLimit.name, () => {
  it('answers a document over the token limit as BAD_USER_INPUT naming the limit', () => {
    const formatted = formatParseLimit({
      message: 'Syntax Error: Document contains more that 10000 tokens. Parsing aborted.',
      locations: [{ line: 1, column: 50_000 }],
      extensions: { code: 'GRAPHQL_PARSE_FAILED' },
    });
    expect(formatted).toEqual({
      message: 'query: the document has more than 10000 tokens; the limit is 10000',
      locations: [{ line: 1, column: 50_000 }],
      extensions: { code: 'BAD_USER_INPUT', field: 'query', limit: 10_000, status: 400 },
    });
  });

  it('answers a document nested too deeply for the parser as BAD_USER_INPUT', () => {
    const formatted = formatParseLimit({
      message: 'Maximum call stack size exceeded',
      extensions: { code: 'GRAPHQL_PARSE_FAILED' },
    });
    expect(formatted).toMatchObject({
      message: 'query: the document nests too deeply to be parsed; the depth limit is 12',
      extensions: { code: 'BAD_USER_INPUT', field: 'query', limit: 12 },
    });
  });

  it('leaves ordinary syntax errors and other errors as they are', () => {
    const syntax = {
      message: 'Syntax Error: Expected Name, found <EOF>.',
      extensions: { code: 'GRAPHQL_PARSE_FAILED' },
    };
    expect(formatParseLimit(syntax)).toBe(syntax);
    const other = {
      message: 'Maximum call stack size exceeded',
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
    expect(formatParseLimit(other)).toBe(other);
  });
});
