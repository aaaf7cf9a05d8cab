import { AppError } from '../common/app-error';

export class BatchTooLargeError extends AppError {
  constructor(count: number, limit: number) {
    super('BAD_USER_INPUT', `inputs: ${count} messages exceeds the limit of ${limit} per call`, {
      field: 'inputs',
      limit,
    });
  }
}

export class StoreUnavailableError extends AppError {
  constructor(cause: string) {
    super(
      'SERVICE_UNAVAILABLE',
      `the message store did not answer (${cause}); the message may not be stored: send it again with the same idempotencyKey`,
    );
  }
}

export class OutageQueueFullError extends AppError {
  constructor(capacity: number) {
    super(
      'SERVICE_UNAVAILABLE',
      `Redis is unavailable and the local queue holds its limit of ${capacity} sends (OUTAGE_QUEUE_SIZE); retry later`,
      { limit: capacity },
    );
  }
}
