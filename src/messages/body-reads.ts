import type { AppError } from '../common/app-error';
import { BodyReadsExhaustedError } from './message.errors';

/**
 * Bytes of message bodies (content and metadata, as stored) one GraphQL operation may read
 * from Redis, past its first body: as
 * many as its response may carry (MAX_RESPONSE_CONTENT_CHARS, response-budget.ts). Without
 * it, 30 aliases of `messages(first: 500)` read every body they name before any is counted,
 * gigabytes at once, which holds Redis for every other client.
 */
export const MAX_OPERATION_BODY_BYTES = 64 * 1024 * 1024;

/**
 * Bytes of message bodies one page of a subscription's catch-up reads, past its first body: a
 * socket may hold 100 subscriptions, each catching up at once.
 */
export const REPLAY_PAGE_BYTES = 4 * 1024 * 1024;

/**
 * The bytes of bodies one reader may still load: shared by every read of one GraphQL
 * operation, or of one MCP answer. The first body is always taken, so that a message larger
 * than the budget can still be read on its own.
 */
export class BodyBudget {
  private spent = 0;
  private started = false;

  constructor(readonly limit: number) {}

  /** How many of the bodies of `sizes` (bytes, in reading order), from the first, fit. */
  take(sizes: readonly number[]): number {
    let taken = 0;
    for (const size of sizes) {
      if (size > 0 && this.started && this.spent + size > this.limit) break;
      // A message that is gone has no body (size 0): it is no first body.
      this.started ||= size > 0;
      this.spent += size;
      taken += 1;
    }
    return taken;
  }
}

/** One read's view of its budget: what it may take, and its refusal when it may take none. */
export interface BodyReads {
  /** As BodyBudget.take. */
  take(sizes: readonly number[]): number;
  /** The error for a read that found bodies and could take none of them. */
  refusal(): AppError;
  /**
   * When set, a read answers only this many leading bytes of each message's content (a
   * preview: MessageRepository.findWithin). The budget still counts whole bodies, which Redis
   * reads to cut them; with 0, no content is read or counted.
   */
  readonly contentBytes?: number;
  /**
   * What a message counts against the budget, from its content's and its metadata's bytes
   * (the content's 0 when none is read): their sum unless set.
   */
  cost?(content: number, metadata: number): number;
}

/**
 * A budget with no other reader: its first body is always taken. With `contentBytes`, its
 * reads answer that many leading bytes of each content (BodyReads.contentBytes).
 */
export function ownBodyReads(limit: number, contentBytes?: number): BodyReads {
  const budget = new BodyBudget(limit);
  return {
    take: (sizes) => budget.take(sizes),
    refusal: () => new BodyReadsExhaustedError('messages', limit),
    contentBytes,
  };
}

/**
 * The reads of a listing of previews: each content's first `contentBytes` are answered, and
 * its metadata whole. The budget, `limit`, is what the answer may carry: it counts the
 * metadata whole and a content at 1/`contentShare` of its bytes, since Redis reads a content
 * whole to cut it but only its start leaves Redis. So a call makes Redis read at most
 * `limit` x `contentShare` bytes of bodies, and answers at most `limit` of metadata.
 */
export function previewBodyReads(
  limit: number,
  contentBytes: number,
  contentShare: number,
): BodyReads {
  return {
    ...ownBodyReads(limit, contentBytes),
    cost: (content, metadata) => content / contentShare + metadata,
  };
}
