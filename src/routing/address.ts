import { InvalidFieldError } from '../messages/message.errors';

/** A mailbox name, as the public contract defines it (docs/security.md). */
export const MAILBOX_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const TOPIC_SEGMENT = /^[A-Za-z0-9_-]{1,64}$/;
export const MAX_TOPIC_SEGMENTS = 16;
/** Longest possible topic: 16 segments of 64 characters and their dots. */
const MAX_TOPIC_LENGTH = MAX_TOPIC_SEGMENTS * 65 - 1;

function shown(value: string): string {
  const cut = value.length > 40 ? `${value.slice(0, 40)}...` : value;
  return JSON.stringify(cut);
}

/** Throws BAD_USER_INPUT naming `field` unless `value` is a valid mailbox name. */
export function assertMailboxName(value: unknown, field: string): string {
  if (typeof value !== 'string' || !MAILBOX_NAME.test(value)) {
    throw new InvalidFieldError(
      field,
      `${typeof value === 'string' ? shown(value) : 'value'} is not a valid mailbox name: 1 to 128 characters of letters, digits, _ . -, starting with a letter or digit`,
      128,
    );
  }
  return value;
}

function assertSegments(
  value: unknown,
  field: string,
  what: string,
  segmentOk: (segment: string) => boolean,
  rule: string,
): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_TOPIC_LENGTH) {
    throw new InvalidFieldError(field, `is not a valid ${what}: ${rule}`, MAX_TOPIC_SEGMENTS);
  }
  const segments = value.split('.');
  if (segments.length > MAX_TOPIC_SEGMENTS) {
    throw new InvalidFieldError(
      field,
      `${shown(value)} has ${segments.length} segments; the limit is ${MAX_TOPIC_SEGMENTS}`,
      MAX_TOPIC_SEGMENTS,
    );
  }
  if (!segments.every(segmentOk)) {
    throw new InvalidFieldError(
      field,
      `${shown(value)} is not a valid ${what}: ${rule}`,
      MAX_TOPIC_SEGMENTS,
    );
  }
  return value;
}

/** Throws BAD_USER_INPUT unless `value` is a concrete topic (no wildcards). */
export function assertTopic(value: unknown, field: string): string {
  return assertSegments(
    value,
    field,
    'topic',
    (segment) => TOPIC_SEGMENT.test(segment),
    'dot-separated segments of 1 to 64 letters, digits, _ or -, at most 16 segments, no wildcards',
  );
}

/** Throws BAD_USER_INPUT unless `value` is a topic pattern (`*` one segment, `#` zero or more). */
export function assertTopicPattern(value: unknown, field: string): string {
  return assertSegments(
    value,
    field,
    'topic pattern',
    (segment) => segment === '*' || segment === '#' || TOPIC_SEGMENT.test(segment),
    'dot-separated segments of 1 to 64 letters, digits, _ or -, or * or #, at most 16 segments',
  );
}
