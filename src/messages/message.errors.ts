import { AppError } from '../common/app-error';

export class InvalidFieldError extends AppError {
  constructor(field: string, problem: string, limit?: number | string) {
    super('BAD_USER_INPUT', `${field}: ${problem}`, { field, limit });
  }
}

/** A JSON input (`metadata`) nested deeper than ROUTER_MAX_JSON_DEPTH. */
export class JsonTooDeepError extends AppError {
  constructor(field: string, limit: number) {
    super('BAD_USER_INPUT', `${field}: nests deeper than the limit of ${limit} levels`, {
      field,
      limit,
    });
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(field: string, actualBytes: number, limitBytes: number) {
    super(
      'PAYLOAD_TOO_LARGE',
      `${field}: ${actualBytes} bytes exceeds the limit of ${limitBytes} bytes`,
      { field, limit: limitBytes, actual: actualBytes },
    );
  }
}

export class MessageNotFoundError extends AppError {
  constructor(id: string) {
    super('NOT_FOUND', `message ${id} was not found or has expired`, { field: 'id' });
  }
}

/** The message bodies one operation (or answer) may read are spent (body-reads.ts). */
export class BodyReadsExhaustedError extends AppError {
  constructor(field: string, limit: number) {
    super(
      'PAYLOAD_TOO_LARGE',
      `${field}: the message bodies this operation reads exceed the limit of ${limit} bytes; ask for fewer messages (first) or in fewer fields`,
      { field, limit },
    );
  }
}
