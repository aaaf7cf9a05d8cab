import {
  GraphQLInt,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  parse,
  type ExecutionResult,
} from 'graphql';
import { PushIterator } from './push-iterator';
import { sharedSubscribe } from './shared-execution';

interface Event {
  text: string;
}

/** A feed whose events are pushed by the test; counts how often `text` is resolved. */
function feedSchema() {
  const feeds: Array<PushIterator<Event>> = [];
  const closed: Array<PushIterator<Event>> = [];
  let resolved = 0;
  const EventType = new GraphQLObjectType<Event>({
    name: 'Event',
    fields: {
      text: {
        type: new GraphQLNonNull(GraphQLString),
        args: { cut: { type: GraphQLInt } },
        resolve: (event, { cut }: { cut?: number }) => {
          resolved += 1;
          return cut === undefined ? event.text : event.text.slice(0, cut);
        },
      },
    },
  });
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLString } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        feed: {
          type: EventType,
          args: { fail: { type: GraphQLString } },
          subscribe: (_root, { fail }: { fail?: string }) => {
            if (fail) throw new Error(fail);
            const feed: PushIterator<Event> = new PushIterator<Event>(() => {
              closed.push(feed);
            });
            feeds.push(feed);
            return feed;
          },
          resolve: (event: Event) => event,
        },
      },
    }),
  });
  return { schema, feeds, closed, resolvedCount: () => resolved };
}

const document = parse('subscription S($cut: Int) { feed { text(cut: $cut) } }');

async function open(
  schema: GraphQLSchema,
  variableValues: Record<string, unknown> = {},
  doc = document,
): Promise<AsyncIterableIterator<ExecutionResult>> {
  const result = await sharedSubscribe({ schema, document: doc, variableValues });
  if (!(Symbol.asyncIterator in result)) throw new Error(JSON.stringify(result));
  return result;
}

describe('sharedSubscribe', () => {
  it('executes an event once for subscribers with the same selection, and shares the result', async () => {
    const { schema, feeds, resolvedCount } = feedSchema();
    const first = await open(schema);
    const second = await open(schema);
    const event = { text: 'hello' };
    for (const feed of feeds) feed.push(event);

    const [a, b] = await Promise.all([first.next(), second.next()]);
    expect(a.value).toEqual({ data: { feed: { text: 'hello' } } });
    expect(b.value).toEqual(a.value);
    expect((b.value as ExecutionResult).data).toBe((a.value as ExecutionResult).data);
    expect(resolvedCount()).toBe(1);
  });

  it('lets go of what it gave a subscriber once that subscriber asks for the next', async () => {
    const { schema, feeds } = feedSchema();
    const first = await open(schema);
    const second = await open(schema);
    for (const feed of feeds) feed.push({ text: 'hello' });
    const [a, b] = await Promise.all([first.next(), second.next()]);

    // Asked for the next, the first subscriber has sent what it was given: nothing of the
    // event stays reachable from it while it waits.
    const waiting = first.next();
    expect(a.value).toEqual({ data: undefined, errors: undefined, extensions: undefined });
    // The other subscriber's result of the same execution is its own and still whole.
    expect(b.value).toEqual({ data: { feed: { text: 'hello' } } });

    for (const feed of feeds) feed.push({ text: 'again' });
    expect((await waiting).value).toEqual({ data: { feed: { text: 'again' } } });
    expect((await second.next()).value).toEqual({ data: { feed: { text: 'again' } } });
  });

  it('executes separately for other variables, another document or another event', async () => {
    const { schema, feeds, resolvedCount } = feedSchema();
    const whole = await open(schema);
    const cut = await open(schema, { cut: 2 });
    const otherDocument = await open(schema, {}, parse('subscription { feed { text } }'));
    const event = { text: 'hello' };
    for (const feed of feeds) feed.push(event);
    for (const feed of feeds) feed.push({ text: 'hello' });

    const results = await Promise.all([whole.next(), cut.next(), otherDocument.next()]);
    expect(results.map((step): unknown => step.value)).toEqual([
      { data: { feed: { text: 'hello' } } },
      { data: { feed: { text: 'he' } } },
      { data: { feed: { text: 'hello' } } },
    ]);
    // An equal but distinct event object is executed again.
    const again = await whole.next();
    expect(again.value).toEqual({ data: { feed: { text: 'hello' } } });
    expect(again.value).not.toBe(results[0].value);
    expect(resolvedCount()).toBe(4);
  });

  it('closes the source at once when the subscriber leaves while waiting for an event', async () => {
    const { schema, feeds, closed } = feedSchema();
    const results = await open(schema);
    const pending = results.next();

    await expect(results.return?.()).resolves.toEqual({ done: true, value: undefined });
    expect(closed).toEqual([feeds[0]]);
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
  });

  it('ends when the source ends, and passes its failure on', async () => {
    const { schema, feeds } = feedSchema();
    const ending = await open(schema);
    const failing = await open(schema);
    await feeds[0].return();
    feeds[1].fail(new Error('feed lost'));

    await expect(ending.next()).resolves.toEqual({ done: true, value: undefined });
    await expect(failing.next()).rejects.toThrow('feed lost');
  });

  it('returns the errors of a subscription that cannot start, as graphql-js does', async () => {
    const { schema } = feedSchema();
    const result = await sharedSubscribe({
      schema,
      document: parse('subscription { feed(fail: "not yours") { text } }'),
    });

    expect(Symbol.asyncIterator in result).toBe(false);
    expect((result as ExecutionResult).errors?.map((error) => error.message)).toEqual([
      'not yours',
    ]);
  });
});
