import { approximateBytes } from '../graphql/approximate-bytes';
import { DEFAULT_BYTE_LIMIT, SlowConsumerError } from '../graphql/push-iterator';
import type { PushedMessage } from './stored-message';

/**
 * Live messages held while a catch-up runs, by count and by bytes. They go out with a replay
 * page after room(), which leaves at most half of a feed's 10,000 (PushIterator) buffered:
 * this many and a page fit in the other half, so releasing them never overflows the feed.
 */
export const HELD_LIMIT = 4_000;
export const HELD_BYTE_LIMIT = DEFAULT_BYTE_LIMIT;

/**
 * Live messages that arrive while a feed's catch-up runs, bounded like a feed's buffer: a
 * consumer slow enough to hold the catch-up back while more than this arrives live is ended
 * (`overflow`), as a slow live consumer is, rather than held in memory without bound.
 */
export class HeldMessages {
  private messages: PushedMessage[] = [];
  private bytes = 0;

  /** False when the message would take the hold past its bounds. */
  add(message: PushedMessage): boolean {
    const bytes = approximateBytes(message);
    if (this.messages.length >= HELD_LIMIT || this.bytes + bytes > HELD_BYTE_LIMIT) return false;
    this.messages.push(message);
    this.bytes += bytes;
    return true;
  }

  /** Takes out the held messages with ids up to `id`, in id order. */
  takeUpTo(id: string): PushedMessage[] {
    const taken = this.messages.filter((message) => message.id <= id);
    if (taken.length === 0) return taken;
    this.messages = this.messages.filter((message) => message.id > id);
    this.bytes = this.messages.reduce((sum, message) => sum + approximateBytes(message), 0);
    return taken.sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** Takes out every held message, in the order they arrived. */
  takeAll(): PushedMessage[] {
    const taken = this.messages;
    this.messages = [];
    this.bytes = 0;
    return taken;
  }

  /** The error that ends a feed whose hold is full. */
  static overflow(): SlowConsumerError {
    return new SlowConsumerError(
      `subscription ended: more than ${HELD_LIMIT} messages or ${HELD_BYTE_LIMIT} bytes arrived live during the catch-up; resubscribe with after = the last id received`,
    );
  }
}
