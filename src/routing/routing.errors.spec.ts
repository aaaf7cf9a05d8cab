import type { LoggerService } from '@nestjs/common';
import { ReplyError } from 'ioredis';
import { AppError } from '../common/app-error';
import { routingFailure } from './routing.errors';

/** A logger that keeps what it was given at each level. */
class KeptLogs implements LoggerService {
  readonly errors: unknown[] = [];
  log(): void {}
  warn(): void {}
  error(message: unknown): void {
    this.errors.push(message);
  }
}

function replyError(message: string): Error {
  return new (ReplyError as new (message: string) => Error)(message);
}

describe('routingFailure', () => {
  it('passes an AppError on as it is, and logs nothing', () => {
    const logs = new KeptLogs();
    const refusal = new AppError('NOT_FOUND', 'input.target: mailbox "x" is not registered', {
      field: 'input.target',
    });
    expect(routingFailure(refusal, logs)).toBe(refusal);
    expect(logs.errors).toEqual([]);
  });

  it('tells Redis not answering as SERVICE_UNAVAILABLE, to send again', () => {
    const logs = new KeptLogs();
    const failure = routingFailure(new Error('Connection is closed.'), logs);
    expect(failure.code).toBe('SERVICE_UNAVAILABLE');
    expect(failure.details.retryAfterSeconds).toBe(2);
    expect(logs.errors).toEqual([]);
  });

  it('tells Redis out of memory as STORE_FULL', () => {
    const failure = routingFailure(
      replyError("OOM command not allowed when used memory > 'maxmemory'."),
      new KeptLogs(),
    );
    expect(failure.code).toBe('STORE_FULL');
  });

  it('tells a bug as INTERNAL_SERVER_ERROR, not as the store failing, and logs its stack', () => {
    const logs = new KeptLogs();
    const bug = new TypeError("Cannot read properties of undefined (reading 'length')");
    const failure = routingFailure(bug, logs);
    expect(failure.code).toBe('INTERNAL_SERVER_ERROR');
    // Nothing of the bug's own text reaches the sender.
    expect(failure.message).toBe('internal server error');
    expect(failure.details).toEqual({});
    expect(logs.errors).toEqual([{ err: bug, msg: 'unexpected error while routing a send' }]);
  });

  it('tells a thrown value that is not an Error as a bug too', () => {
    const logs = new KeptLogs();
    expect(routingFailure('a string', logs).code).toBe('INTERNAL_SERVER_ERROR');
    expect(logs.errors).toHaveLength(1);
  });
});
