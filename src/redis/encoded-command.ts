import { Command } from 'ioredis';

const CR = 13;
const LF = 10;
const DOLLAR = 36;
const ASTERISK = 42;
const ZERO = 48;

/** How many bytes the decimal digits of a non-negative integer take. */
function digits(value: number): number {
  let count = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) count += 1;
  return count;
}

/** Writes `value`'s decimal digits into `target` at `offset`; returns the offset after them. */
function writeDigits(target: Buffer, offset: number, value: number): number {
  const end = offset + digits(value);
  let rest = value;
  for (let at = end - 1; at >= offset; at -= 1) {
    target[at] = ZERO + (rest % 10);
    rest = Math.floor(rest / 10);
  }
  return end;
}

/** The bytes of one bulk string of `length` bytes: `$<length>`, CRLF, the bytes, CRLF. */
function bulkBytes(length: number): number {
  return 1 + digits(length) + 2 + length + 2;
}

/** Writes `arg` (`length` bytes as UTF-8) as a bulk string; returns the offset after it. */
function writeBulk(target: Buffer, at: number, arg: string | Buffer, length: number): number {
  target[at] = DOLLAR;
  let offset = writeDigits(target, at + 1, length);
  target[offset++] = CR;
  target[offset++] = LF;
  if (typeof arg !== 'string') offset += arg.copy(target, offset);
  // As many bytes as characters: ASCII, whose UTF-8 and Latin-1 bytes are the same, and
  // Latin-1 is a copy where UTF-8 encodes character by character.
  else if (length === arg.length) offset += target.write(arg, offset, 'latin1');
  else offset += target.write(arg, offset);
  target[offset++] = CR;
  target[offset++] = LF;
  return offset;
}

/**
 * A command in the Redis protocol (RESP): `*<count>`, then the name and each argument as a
 * bulk string. The same bytes as ioredis's own encoding, written once into one Buffer.
 */
export function encodeCommand(name: string, args: ReadonlyArray<string | Buffer>): Buffer {
  const lengths = new Array<number>(args.length);
  const nameLength = Buffer.byteLength(name);
  let total = 1 + digits(args.length + 1) + 2 + bulkBytes(nameLength);
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index];
    const length = typeof arg === 'string' ? Buffer.byteLength(arg) : arg.length;
    lengths[index] = length;
    total += bulkBytes(length);
  }
  const target = Buffer.allocUnsafe(total);
  target[0] = ASTERISK;
  let offset = writeDigits(target, 1, args.length + 1);
  target[offset++] = CR;
  target[offset++] = LF;
  offset = writeBulk(target, offset, name, nameLength);
  for (let index = 0; index < args.length; index += 1) {
    offset = writeBulk(target, offset, args[index], lengths[index]);
  }
  return target;
}

/**
 * An ioredis Command that hands its socket one Buffer (encodeCommand) through `toWritable`,
 * the public method ioredis's own script commands override too.
 *
 * ioredis's encoding appends each argument's `$<length>`, text and CRLF to one string. For a
 * shared script call of a hundred sends that string is a rope of thousands of pieces, which
 * V8 joins into one flat string of about 170 KB before the socket encodes it to UTF-8
 * character by character. In w2, building and writing it took 27% of what the service
 * allocated and, with the write's system call, 16% of its busy time (docs/performance-log.md,
 * "What the figures rest on").
 */
export class EncodedCommand extends Command {
  override toWritable(): Buffer {
    return encodeCommand(this.name, this.args as Array<string | Buffer>);
  }
}
