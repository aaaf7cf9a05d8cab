import type { LoggerService } from '@nestjs/common';
import { ReplyError } from 'ioredis';
import { AppError } from './app-error';
import { asClientError } from './client-error';

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

/** As the router calls it for a failed send. */
function send(thrown: unknown, logs: LoggerService) {
  return asClientError(thrown, logs, 'unexpected error while routing a send');
}

describe('asClientError', () => {
  it('passes an AppError on as it is, and logs nothing', () => {
    const logs = new KeptLogs();
    const refusal = new AppError('NOT_FOUND', 'input.target: mailbox "x" is not registered', {
      field: 'input.target',
    });
    expect(send(refusal, logs)).toBe(refusal);
    expect(logs.errors).toEqual([]);
  });

  it('tells Redis not answering as SERVICE_UNAVAILABLE, to send again', () => {
    const logs = new KeptLogs();
    const failure = send(new Error('Connection is closed.'), logs);
    expect(failure.code).toBe('SERVICE_UNAVAILABLE');
    expect(failure.details.retryAfterSeconds).toBe(2);
    expect(logs.errors).toEqual([]);
  });

  it('tells Redis out of memory as STORE_FULL', () => {
    const failure = send(
      replyError("OOM command not allowed when used memory > 'maxmemory'."),
      new KeptLogs(),
    );
    expect(failure.code).toBe('STORE_FULL');
  });

  it('tells a bug as INTERNAL_SERVER_ERROR, not as the store failing, and logs its stack', () => {
    const logs = new KeptLogs();
    const bug = new TypeError("Cannot read properties of undefined (reading 'length')");
    const failure = send(bug, logs);
    expect(failure.code).toBe('INTERNAL_SERVER_ERROR');
    // Nothing of the bug's own text reaches the sender.
    expect(failure.message).toBe('internal server error');
    expect(failure.details).toEqual({});
    expect(logs.errors).toEqual([{ err: bug, msg: 'unexpected error while routing a send' }]);
  });

  it('tells a thrown value that is not an Error as a bug too', () => {
    const logs = new KeptLogs();
    expect(send('a string', logs).code).toBe('INTERNAL_SERVER_ERROR');
    expect(logs.errors).toHaveLength(1);
  });

  it("logs the context's fields beside the error, as GraphQL gives its request id", () => {
    const logs = new KeptLogs();
    const bug = new RangeError('Invalid array length');
    asClientError(bug, logs, 'unexpected error in resolver', { reqId: 'req-7' });
    expect(logs.errors).toEqual([
      { reqId: 'req-7', err: bug, msg: 'unexpected error in resolver' },
    ]);
  });
});
