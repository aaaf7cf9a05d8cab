import * as z from 'zod';
import {
  argumentElements,
  argumentsOf,
  MAX_ARGUMENT_ELEMENTS,
  RefusedArguments,
} from './tool-arguments';

const schema = z.object({
  to: z.string().regex(/^[a-z]+$/, 'a mailbox name'),
  limit: z.number().int().min(1).max(100).default(20),
  message_ids: z.array(z.string().max(4)).max(3).optional(),
  metadata: z.object({ kind: z.string() }).optional(),
});
const tool = argumentsOf(schema);

/** What the tool is handed for `value`. */
function validated(value: unknown): unknown {
  const result = tool['~standard'].validate(value);
  if (result instanceof Promise) throw new Error('validated asynchronously');
  expect(result.issues).toBeUndefined();
  return (result as { value: unknown }).value;
}

/** The refusal the tool is handed for `value`, as its fields. */
function refusal(value: unknown): { code: string; message: string; details: object } {
  const handed = validated(value);
  expect(handed).toBeInstanceOf(RefusedArguments);
  const { error } = handed as RefusedArguments;
  return { code: error.code, message: error.message, details: error.details };
}

describe(argumentElements.name, () => {
  it('counts array elements and object members at every depth', () => {
    expect(argumentElements({ a: [1, 2, { b: 3 }], c: 'x' }, 100)).toBe(6);
    expect(argumentElements('text', 100)).toBe(0);
    expect(argumentElements(null, 100)).toBe(0);
  });

  it('stops just past the bound, and survives any depth', () => {
    expect(
      argumentElements(
        Array.from({ length: 5_000 }, () => 0),
        10,
      ),
    ).toBe(11);
    let deep: unknown = 'leaf';
    for (let i = 0; i < 200_000; i++) deep = { deep };
    expect(argumentElements(deep, 1_000)).toBe(1_001);
    expect(argumentElements(deep, 300_000)).toBe(200_000);
  });
});

describe(argumentsOf.name, () => {
  it('hands the tool its parsed arguments, defaults filled in', () => {
    expect(validated({ to: 'planner' })).toEqual({ to: 'planner', limit: 20 });
  });

  it('advertises the schema it checks', () => {
    const options = { target: 'draft-2020-12' } as const;
    expect(tool['~standard'].jsonSchema.input(options)).toEqual(
      schema['~standard'].jsonSchema.input(options),
    );
  });

  it('refuses with the argument and the limit it broke', () => {
    const over = refusal({ to: 'planner', limit: 500 });
    expect(over.code).toBe('BAD_USER_INPUT');
    expect(over.message).toMatch(/^limit: .*100/);
    expect(over.details).toEqual({ field: 'limit', limit: 100 });
    expect(refusal({ to: 'planner', limit: 0 }).details).toEqual({ field: 'limit', limit: 1 });
    expect(refusal({ to: 'planner', message_ids: ['a', 'b', 'c', 'd'] }).details).toEqual({
      field: 'message_ids',
      limit: 3,
    });
  });

  it('names array items and nested members by their path', () => {
    expect(refusal({ to: 'planner', message_ids: ['a', 'abcdef'] }).details).toEqual({
      field: 'message_ids[1]',
      limit: 4,
    });
    expect(refusal({ to: 'planner', metadata: { kind: 7 } }).details).toEqual({
      field: 'metadata.kind',
    });
  });

  it('lists the first issues and counts the rest', () => {
    const { message, details } = refusal({
      to: 'Not/A/Name',
      limit: 'many',
      message_ids: 'all',
      metadata: 'none',
    });
    expect(details).toEqual({ field: 'to' });
    expect(message).toMatch(/^to: a mailbox name; limit: .*; message_ids: .*; and 1 more$/);
  });

  it('refuses arguments past the element bound before checking their schema', () => {
    const many = Array.from({ length: MAX_ARGUMENT_ELEMENTS }, () => 'a');
    const past = refusal({ to: 'planner', message_ids: many });
    expect(past.code).toBe('BAD_USER_INPUT');
    expect(past.message).toContain(`more than ${MAX_ARGUMENT_ELEMENTS}`);
    expect(past.details).toEqual({ field: 'arguments', limit: MAX_ARGUMENT_ELEMENTS });
  });
});
