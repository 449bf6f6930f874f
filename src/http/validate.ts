import type { z } from 'zod';
import { errors } from '../errors.js';

/**
 * Parses `input` with `schema`, or throws a 400 `validation_failed` whose details map each field to its
 * messages. Problems with the input as a whole (e.g. not an object) are filed under `root` (`body`, `query`).
 */
export function validate<S extends z.ZodType>(schema: S, input: unknown, root: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw errors.validationFailed(fieldMessages(result.error, root));
}

function fieldMessages(error: z.ZodError, root: string): Record<string, string[]> {
  // A Map, because a field may be called `__proto__`.
  const byField = new Map<string, string[]>();
  const add = (field: string, message: string) => {
    const messages = byField.get(field) ?? [];
    if (!messages.includes(message)) messages.push(message);
    byField.set(field, messages);
  };
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) add(key, issue.message);
    } else {
      add(issue.path.length > 0 ? issue.path.map(String).join('.') : root, issue.message);
    }
  }
  return Object.fromEntries(byField);
}
