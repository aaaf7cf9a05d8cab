import {
  createSourceEventStream,
  execute as graphqlExecute,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';

import { exceedsJsonDepth, RENDERABLE_JSON_DEPTH } from '../common/json-depth';
import { MemoSlot } from '../common/memo-slot';

type Executed = ExecutionResult | Promise<ExecutionResult>;

/** What executes an event's selection: graphql-js's `execute`, or CompiledExecution's. */
export type Execute = (args: ExecutionArgs) => Executed;

const documentIds = new WeakMap<DocumentNode, number>();
let nextDocumentId = 0;

/**
 * What makes two subscriptions execute an event alike: document, operation and variables (the
 * ones the operation declares: graphql-ws.server.ts passes no others, so that an undeclared
 * one is neither held nor serialized here). Null for variables too deep to serialize safely
 * (a declared one of type `JSON` may be): such a subscription executes on its own.
 */
function selectionKey(args: ExecutionArgs): string | null {
  if (exceedsJsonDepth(args.variableValues, RENDERABLE_JSON_DEPTH)) return null;
  let id = documentIds.get(args.document);
  if (id === undefined) {
    id = nextDocumentId++;
    documentIds.set(args.document, id);
  }
  return `${id}\u0000${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}`;
}

/** Executions of each event by selection, kept on the event: they go when it goes. */
const executions = new MemoSlot<Map<string, Executed>>('shared executions');

function executeShared(
  execute: Execute,
  args: ExecutionArgs,
  key: string,
  event: unknown,
): Executed {
  if (typeof event !== 'object' || event === null) return execute({ ...args, rootValue: event });
  let byKey = executions.get(event);
  if (!byKey) {
    byKey = new Map();
    executions.set(event, byKey);
  }
  let executed = byKey.get(key);
  if (!executed) {
    executed = execute({ ...args, rootValue: event });
    byKey.set(key, executed);
  }
  return executed;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === 'function';
}

/**
 * graphql-js's `subscribe`, with executions shared between subscribers. graphql-js executes
 * the selection once per event for every subscriber, and with many subscribers of one feed
 * that is most of a delivery's cost. Here subscribers that receive the same event object
 * (the feeds push one object per published message to all their subscribers) with the same
 * document, operation name and variables share one execution and its result.
 *
 * Sound because an event's execution does not depend on who receives it: the subscription
 * fields resolve the event itself and the types they return (Message, DeliveryConfirmation)
 * resolve their fields from the event alone, never from the context. A field that reads the
 * context must not be reachable from a subscription's result type.
 */
export async function sharedSubscribe(
  args: ExecutionArgs,
  execute: Execute = graphqlExecute,
): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!isAsyncIterable(source)) return source;
  const events = source[Symbol.asyncIterator]();
  const key = selectionKey(args);
  // What this subscriber was last given. graphql-ws's loop over the results keeps the last one
  // until the next arrives; the consumer asks for the next only once it has sent the last, so
  // the last is emptied then, and a quiet subscription holds no message while it waits.
  let given: ExecutionResult | null = null;
  // Not an async generator: its return() would wait for the pending next() (for a quiet
  // feed, the next message) before it closed the source; this one closes it at once.
  const results: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      if (given) given.data = given.errors = given.extensions = undefined;
      given = null;
      const step = await events.next();
      if (step.done) return { done: true, value: undefined };
      const shared =
        key === null
          ? await execute({ ...args, rootValue: step.value })
          : await executeShared(execute, args, key, step.value);
      // Every field the emptying above sets, from the start: a copy spread from the result
      // (which has `data` alone) and later given `errors` and `extensions` took V8's slow
      // path, about 1.4 us a delivery against 13 ns.
      given = { data: shared.data, errors: shared.errors, extensions: shared.extensions };
      return { done: false, value: given };
    },
    async return() {
      await events.return?.();
      return { done: true, value: undefined };
    },
    async throw(error: unknown) {
      await events.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return results;
}
