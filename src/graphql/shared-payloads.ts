import type { ExecutionResult } from 'graphql';
import { MemoSlot } from '../common/memo-slot';

/**
 * The key of the stand-in payload, whose value is the subscription's id. No GraphQL name
 * holds a NUL, and a payload is always an object of `data`, `errors` and `extensions`, so no
 * result serializes to a stand-in.
 */
const STAND_IN_KEY = '\u0000shared';

/** How a `next` frame's stand-in begins (graphql-ws writes the payload last): then its id, `}}`. */
const STAND_IN_HEAD = `"payload":${JSON.stringify({ [STAND_IN_KEY]: 0 }).slice(0, -2)}`;

/** A result's payload serialized, kept on its `data`: shared by every subscriber of it. */
const serialized = new MemoSlot<string>('serialized payload');

function payloadJson(result: ExecutionResult): string {
  const { data, extensions } = result;
  const json = (): string =>
    JSON.stringify(extensions === undefined ? { data } : { data, extensions });
  if (typeof data !== 'object' || data === null) return json();
  let text = serialized.get(data);
  if (text === undefined) {
    text = json();
    serialized.set(data, text);
  }
  return text;
}

/** The id a stand-in names (its JSON text), or null for text that is not one. */
function standInId(text: string): string | null {
  if (!text.startsWith('"')) return null;
  try {
    const id = JSON.parse(text) as unknown;
    return typeof id === 'string' ? id : null;
  } catch {
    return null;
  }
}

/**
 * A subscription event's payload serialized once for all its subscribers, instead of once a
 * subscriber. graphql-ws serializes each `next` frame whole: with subscribers of one feed
 * sharing an execution (shared-execution.ts), one message's frames repeated JSON.stringify on
 * the same result for each of them.
 *
 * Per socket: `payload` (the server's `onNext`) serializes the result once per `data` object,
 * keeps that text for the subscription, and hands graphql-ws a small stand-in to write in its
 * place, naming the subscription; `frame` (the socket's `send`) puts the text where graphql-ws
 * wrote the stand-in. A frame without one passes as it is. graphql-ws sends each
 * subscription's results one after another, each right after its `onNext`, so one text a
 * subscription is enough. A subscription keeps its entry between frames, emptied once its
 * text is written, until `forget`: setting and deleting a key for every frame gave the map a
 * new table every few frames, and those tables outlived young-generation collections.
 */
export class SharedPayloads {
  private readonly pending = new Map<string, string | undefined>();

  /** What graphql-ws is to write as the payload of subscription `id`'s next frame. */
  payload(id: string, result: ExecutionResult): ExecutionResult {
    this.pending.set(id, payloadJson(result));
    return { [STAND_IN_KEY]: id } as ExecutionResult;
  }

  /** The frame to write: with the payload in place of its stand-in. */
  frame(data: string): string {
    if (!data.endsWith('}}')) return data;
    const at = data.lastIndexOf(STAND_IN_HEAD);
    if (at === -1) return data;
    const id = standInId(data.slice(at + STAND_IN_HEAD.length, -2));
    const text = id === null ? undefined : this.pending.get(id);
    if (id === null || text === undefined) return data;
    this.pending.set(id, undefined);
    return `${data.slice(0, at + '"payload":'.length)}${text}}`;
  }

  /** Forgets a subscription that ended, with its next frame written or not. */
  forget(id: string): void {
    this.pending.delete(id);
  }
}
