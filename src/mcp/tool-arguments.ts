import type { StandardSchemaWithJSON } from '@modelcontextprotocol/server';
import type * as z from 'zod';
import { AppError } from '../common/app-error';

/** Combined array elements and object members one call's arguments may hold. */
export const MAX_ARGUMENT_ELEMENTS = 1_000;
/** Schema issues one refusal's message lists; the rest are counted. */
const MAX_ISSUES_LISTED = 3;

/**
 * Arguments a tool's schema refused, handed to the tool in place of its arguments so that it
 * answers them as it answers every refusal: with `structuredContent.error` (the SDK answers a
 * failed validation with a text alone).
 */
export class RefusedArguments {
  constructor(readonly error: AppError) {}
}

/**
 * How many array elements and object members `value` holds, counting no further than just
 * past `max`. A walk with a stack of its own, so that no nesting depth overflows the call stack.
 */
export function argumentElements(value: unknown, max: number): number {
  let count = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    const children: unknown[] = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) {
      if (++count > max) return count;
      if (child !== null && typeof child === 'object') stack.push(child);
    }
  }
  return count;
}

/** An issue's path as the service names fields: `message_ids[3]`, `metadata.kind`. */
function fieldOf(path: readonly PropertyKey[]): string {
  return path
    .map((key, index) =>
      typeof key === 'number' ? `[${key}]` : `${index > 0 ? '.' : ''}${String(key)}`,
    )
    .join('');
}

/** The refusal of arguments that failed their schema: the first issue's field and limit. */
function argumentError(issues: readonly z.core.$ZodIssue[]): AppError {
  const [first] = issues;
  const field = fieldOf(first.path);
  const listed = issues
    .slice(0, MAX_ISSUES_LISTED)
    .map((issue) =>
      issue.path.length > 0 ? `${fieldOf(issue.path)}: ${issue.message}` : issue.message,
    );
  const more = issues.length - listed.length;
  const limit =
    first.code === 'too_big' ? first.maximum : first.code === 'too_small' ? first.minimum : null;
  return new AppError(
    'BAD_USER_INPUT',
    `${listed.join('; ')}${more > 0 ? `; and ${more} more` : ''}`,
    {
      ...(field ? { field } : {}),
      ...(typeof limit === 'number' ? { limit } : {}),
    },
  );
}

/**
 * A tool's argument schema as given to the SDK: advertised as `schema` is, and checked by it
 * (with the bound on elements first), but never failing there. Arguments it refuses reach the
 * tool as RefusedArguments.
 */
export function argumentsOf<Schema extends z.ZodObject>(
  schema: Schema,
): StandardSchemaWithJSON<z.input<Schema>, z.output<Schema> | RefusedArguments> {
  return {
    '~standard': {
      version: 1,
      vendor: 'inter-llm-mailbox',
      validate(value) {
        if (argumentElements(value, MAX_ARGUMENT_ELEMENTS) > MAX_ARGUMENT_ELEMENTS) {
          const error = new AppError(
            'BAD_USER_INPUT',
            `arguments: more than ${MAX_ARGUMENT_ELEMENTS} array elements and object members`,
            { field: 'arguments', limit: MAX_ARGUMENT_ELEMENTS },
          );
          return { value: new RefusedArguments(error) };
        }
        const parsed = schema.safeParse(value);
        return {
          value: parsed.success
            ? parsed.data
            : new RefusedArguments(argumentError(parsed.error.issues)),
        };
      },
      jsonSchema: schema['~standard'].jsonSchema,
    },
  };
}
