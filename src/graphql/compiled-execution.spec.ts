import {
  execute,
  GraphQLBoolean,
  GraphQLEnumType,
  GraphQLError,
  GraphQLInputObjectType,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLScalarType,
  GraphQLSchema,
  GraphQLString,
  parse,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLResolveInfo,
} from 'graphql';
import { CompiledExecution, USES_BEFORE_COMPILING } from './compiled-execution';
import { sharedSubscribe } from './shared-execution';
import { PushIterator } from './push-iterator';

class CodedError extends Error {
  readonly extensions = { code: 'RATE_LIMITED', field: 'sender' };
}

interface Note {
  id: number;
  text: string;
  tags: string[];
}

/** A scalar whose serialize refuses some values with a code, as the JSON scalar does. */
const Meta = new GraphQLScalarType({
  name: 'Meta',
  serialize: (value) => {
    if (value === 'unreadable')
      throw new GraphQLError('the stored value cannot be returned', {
        extensions: { code: 'INTERNAL_SERVER_ERROR', limit: 3 },
      });
    return value;
  },
});

/** A schema with what the service's uses: input objects, enums, lists, errors, async resolvers. */
function notesSchema() {
  const seen: Array<{ args: unknown; context: unknown; info: GraphQLResolveInfo }> = [];
  const feeds: Array<PushIterator<Note>> = [];
  const Kind = new GraphQLEnumType({ name: 'Kind', values: { PLAIN: {}, URGENT: {} } });
  const NoteType = new GraphQLObjectType<Note>({
    name: 'Note',
    fields: {
      id: { type: new GraphQLNonNull(GraphQLInt) },
      text: {
        type: GraphQLString,
        args: { cut: { type: GraphQLInt } },
        resolve: (note, { cut }: { cut?: number }) =>
          cut === undefined ? note.text : note.text.slice(0, cut),
      },
      tags: { type: new GraphQLList(new GraphQLNonNull(GraphQLString)) },
      meta: { type: Meta, resolve: (note) => (note.id === 2 ? 'unreadable' : { n: note.id }) },
      broken: {
        type: GraphQLString,
        resolve: () => {
          throw new CodedError('not today');
        },
      },
    },
  });
  const NoteInput = new GraphQLInputObjectType({
    name: 'NoteInput',
    fields: {
      text: { type: new GraphQLNonNull(GraphQLString) },
      kind: { type: Kind },
      within: { type: GraphQLInt },
      tags: { type: new GraphQLList(new GraphQLNonNull(GraphQLString)) },
    },
  });
  const Result = new GraphQLObjectType({
    name: 'Result',
    fields: {
      id: { type: new GraphQLNonNull(GraphQLInt) },
      kind: { type: Kind },
      urgent: { type: GraphQLBoolean },
    },
  });
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({
      name: 'Query',
      fields: {
        notes: {
          type: new GraphQLList(NoteType),
          resolve: async () => {
            await Promise.resolve();
            return [
              { id: 1, text: 'first note', tags: ['a'] },
              { id: 2, text: 'second', tags: [] },
            ];
          },
        },
      },
    }),
    mutation: new GraphQLObjectType({
      name: 'Mutation',
      fields: {
        add: {
          type: new GraphQLNonNull(Result),
          args: { input: { type: new GraphQLNonNull(NoteInput) } },
          resolve: (_root, args: { input: { text: string; kind?: string } }, context, info) => {
            seen.push({ args, context, info });
            if (args.input.text === 'refuse') throw new CodedError('too fast');
            const kind = args.input.kind ?? 'PLAIN';
            return { id: 7, kind, urgent: kind === 'URGENT' };
          },
        },
      },
    }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        notes: {
          type: NoteType,
          subscribe: () => {
            const feed = new PushIterator<Note>(() => undefined);
            feeds.push(feed);
            return feed;
          },
          resolve: (note: Note) => note,
        },
      },
    }),
  });
  return { schema, seen, feeds };
}

const ADD = parse(`mutation Add($in: NoteInput!) {
  add(input: $in) { id ...Kinds urgent @include(if: true) skipped: urgent @skip(if: true) }
}
fragment Kinds on Result { kind }`);

const NOTES = parse(`query { notes { id short: text(cut: 3) text tags broken } }`);

/** graphql-js's answer, then CompiledExecution's for every use up to a compiled one. */
async function both(
  args: ExecutionArgs,
  compiled = new CompiledExecution(),
): Promise<{ expected: ExecutionResult; answers: ExecutionResult[] }> {
  const expected = await execute(args);
  const answers: ExecutionResult[] = [];
  for (let use = 0; use < USES_BEFORE_COMPILING + 1; use += 1)
    answers.push(await compiled.execute(args));
  return { expected, answers };
}

/** What a client reads of a result: its JSON, with each error's path and extensions. */
function asClientSees(result: ExecutionResult): unknown {
  return {
    data: result.data,
    errors: result.errors?.map((error) => ({
      ...error.toJSON(),
      original: error.originalError?.constructor.name,
    })),
  };
}

describe(CompiledExecution.name, () => {
  it('compiles a document on its second use and answers as graphql-js does before and after', async () => {
    const { schema } = notesSchema();
    const compiled = new CompiledExecution();
    const args = {
      schema,
      document: ADD,
      variableValues: { in: { text: 'hi', kind: 'URGENT', tags: ['x'] } },
    };

    expect(await compiled.execute(args)).toEqual(await execute(args));
    expect(compiled.size).toBe(0);
    const second = await compiled.execute(args);
    expect(compiled.size).toBe(1);
    expect(second).toEqual({ data: { add: { id: 7, kind: 'URGENT', urgent: true } } });
    expect(await compiled.execute(args)).toEqual(await execute(args));
  });

  it('hands resolvers the same arguments, context and info as graphql-js', async () => {
    const { schema, seen } = notesSchema();
    const context = { principal: 'admin' };
    const args = {
      schema,
      document: ADD,
      contextValue: context,
      variableValues: { in: { text: 'hi', within: 5 } },
    };
    await both(args);

    expect(seen).toHaveLength(1 + USES_BEFORE_COMPILING + 1);
    const [byGraphqlJs, , compiledRun] = seen;
    expect(compiledRun.args).toEqual(byGraphqlJs.args);
    expect(compiledRun.context).toBe(context);
    // What the service's guards read (fieldName, parentType), and more.
    expect(compiledRun.info.fieldName).toBe(byGraphqlJs.info.fieldName);
    expect(compiledRun.info.path.key).toBe(byGraphqlJs.info.path.key);
    expect(compiledRun.info.variableValues).toEqual(byGraphqlJs.info.variableValues);
    expect(compiledRun.info.operation.operation).toBe('mutation');
    expect(String(compiledRun.info.parentType)).toBe('Mutation');
    expect(String(compiledRun.info.returnType)).toBe('Result!');
  });

  it("keeps a resolver's error with its path, extensions and original error", async () => {
    const { schema } = notesSchema();
    const thrown = await both({
      schema,
      document: ADD,
      variableValues: { in: { text: 'refuse' } },
    });
    const listed = await both({ schema, document: NOTES });

    for (const { expected, answers } of [thrown, listed]) {
      expect(expected.errors?.length).toBeGreaterThan(0);
      for (const answer of answers) expect(asClientSees(answer)).toEqual(asClientSees(expected));
    }
    expect(asClientSees(thrown.answers[2])).toMatchObject({
      data: null,
      errors: [{ path: ['add'], extensions: { code: 'RATE_LIMITED' }, original: 'CodedError' }],
    });
  });

  it.each([
    ['a missing variable', {}],
    ['a wrong type inside the input', { in: { text: 5 } }],
    ['a null where the input requires a value', { in: { text: null } }],
    ['an unknown enum value', { in: { text: 'hi', kind: 'LOUD' } }],
    ['a field the input does not define', { in: { text: 'hi', bogus: 1 } }],
    ['a float for an Int', { in: { text: 'hi', within: 1.5 } }],
  ])('answers %s with graphql-js own refusal, naming the path', async (_case, variableValues) => {
    const { schema, seen } = notesSchema();
    const { expected, answers } = await both({ schema, document: ADD, variableValues });

    expect(expected.errors?.[0]?.message).toMatch(/^Variable "\$in"/);
    for (const answer of answers) expect(asClientSees(answer)).toEqual(asClientSees(expected));
    expect(seen).toHaveLength(0);
  });

  it('keeps at most its cap of documents compiled, least recently used out first', async () => {
    const { schema } = notesSchema();
    const compiled = new CompiledExecution({ maxDocuments: 2 });
    const documents = ['{ notes { id } }', '{ notes { text } }', '{ notes { tags } }'].map((text) =>
      parse(text),
    );
    const run = (document: DocumentNode) => compiled.execute({ schema, document });
    for (const document of documents.slice(0, 2))
      for (let i = 0; i < 2; i += 1) await run(document);
    expect(compiled.size).toBe(2);

    await run(documents[0]);
    for (let i = 0; i < 2; i += 1) await run(documents[2]);
    expect(compiled.size).toBe(2);

    // The one let go (the second) starts counting its uses again, and still answers.
    expect(await run(documents[1])).toEqual(await execute({ schema, document: documents[1] }));
    expect(compiled.size).toBe(2);
  });

  it("leaves a document selecting an interpreted scalar to graphql-js, which keeps its refusal's code", async () => {
    const { schema } = notesSchema();
    const document = parse('{ notes { id meta } }');
    const interpreted = new CompiledExecution({ interpreted: [Meta] });
    const { expected, answers } = await both({ schema, document }, interpreted);

    expect(asClientSees(expected)).toMatchObject({
      data: {
        notes: [
          { id: 1, meta: { n: 1 } },
          { id: 2, meta: null },
        ],
      },
      errors: [{ path: ['notes', 1, 'meta'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
    });
    for (const answer of answers) expect(asClientSees(answer)).toEqual(asClientSees(expected));

    // Compiled, the refusal would keep its message and lose its code.
    const compiled = (await both({ schema, document })).answers[2];
    expect(compiled.errors?.[0]?.message).toBe(expected.errors?.[0]?.message);
    expect(compiled.errors?.[0]?.extensions?.code).toBeUndefined();
  });

  it('leaves an execution with resolvers of its own, and a document it cannot compile, to graphql-js', async () => {
    const { schema } = notesSchema();
    const compiled = new CompiledExecution();
    const fieldResolver = () => 'from the caller';
    const custom = { schema, document: parse('{ notes { text } }'), fieldResolver };
    for (let use = 0; use < 3; use += 1)
      expect(await compiled.execute(custom)).toEqual(await execute(custom));
    expect(compiled.size).toBe(0);

    const unknown = { schema, document: ADD, operationName: 'Missing' };
    for (let use = 0; use < 3; use += 1) {
      const answer = await compiled.execute(unknown);
      expect(answer.errors?.[0]).toBeInstanceOf(GraphQLError);
      expect(answer).toEqual(await execute(unknown));
    }
  });

  it('runs a mutation of several root fields on graphql-js: none after the first that fails', async () => {
    const { schema, seen } = notesSchema();
    const compiled = new CompiledExecution();
    const series = parse(`mutation {
      a: add(input: { text: "refuse" }) { id }
      b: add(input: { text: "after" }) { id }
    }`);
    for (let use = 0; use < USES_BEFORE_COMPILING + 1; use += 1) {
      seen.length = 0;
      const answer = await compiled.execute({ schema, document: series });
      expect(answer.data).toBeNull();
      // b never ran: a failed non-null root field ends the series, compiled or not.
      expect(seen.map((call) => (call.args as { input: { text: string } }).input.text)).toEqual([
        'refuse',
      ]);
    }
    expect(compiled.size).toBe(1);
    // One root field still runs compiled.
    const single = { schema, document: ADD, variableValues: { in: { text: 'one' } } };
    const { expected, answers } = await both(single, compiled);
    for (const answer of answers) expect(asClientSees(answer)).toEqual(asClientSees(expected));
  });

  it("executes a subscription's events compiled, shared between subscribers as before", async () => {
    const { schema, feeds } = notesSchema();
    const compiled = new CompiledExecution();
    const document = parse('subscription { notes { id text(cut: 4) } }');
    const open = async () => {
      const result = await sharedSubscribe({ schema, document }, compiled.execute);
      if (!(Symbol.asyncIterator in result)) throw new Error(JSON.stringify(result));
      return result;
    };
    const first = await open();
    const second = await open();
    const note = { id: 3, text: 'hello', tags: [] };
    for (const feed of feeds) feed.push(note);
    const [a, b] = await Promise.all([first.next(), second.next()]);
    expect(a.value).toEqual({ data: { notes: { id: 3, text: 'hell' } } });
    expect((b.value as ExecutionResult).data).toBe((a.value as ExecutionResult).data);
    expect(compiled.size).toBe(0);

    const next = { ...note, id: 4 };
    for (const feed of feeds) feed.push(next);
    const [c, d] = await Promise.all([first.next(), second.next()]);
    expect(c.value).toEqual({ data: { notes: { id: 4, text: 'hell' } } });
    expect((d.value as ExecutionResult).data).toBe((c.value as ExecutionResult).data);
    expect(compiled.size).toBe(1);
  });
});
