import { BodyError, bodyRefusal } from './request-body';

describe(bodyRefusal.name, () => {
  it('answers a client that closed its connection mid-body as a refusal, not an internal error', () => {
    const aborted = Object.assign(new Error('aborted'), { code: 'ECONNRESET', statusCode: 400 });
    expect(bodyRefusal(aborted, '1000', 16_000_000)).toEqual({
      status: 400,
      body: {
        errors: [
          {
            message: 'request body: the client closed the connection before sending it whole',
            extensions: { code: 'BAD_USER_INPUT', field: 'body' },
          },
        ],
      },
    });
  });

  it('leaves other connection errors and errors of no body alone', () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    expect(bodyRefusal(reset, undefined, 1)).toBeNull();
    expect(bodyRefusal(new Error('boom'), undefined, 1)).toBeNull();
    expect(bodyRefusal(new BodyError(415, 'no'), undefined, 1)?.status).toBe(415);
  });
});
