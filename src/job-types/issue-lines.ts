/**
 * Zod issues as start-error lines: `<JSON path>: <message>`, one line per issue, and one per unknown key (the
 * path then ends with that key, so the line points at exactly what to remove).
 */
import type { z } from 'zod';

/** A key that reads plainly after a dot; any other (a type name with a `.`, say) is written `["…"]`. */
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `types.notify.headers["x.y"]`, `items[0]`: the path of a value inside a JSON document. */
export function jsonPath(segments: readonly PropertyKey[]): string {
  let path = '';
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else if (typeof segment === 'string' && PLAIN_KEY.test(segment)) path += path === '' ? segment : `.${segment}`;
    else path += `[${JSON.stringify(String(segment))}]`;
  }
  return path;
}

/** One line per problem, each path prefixed with `root` (where the validated value sits in its document). */
export function issueLines(issues: readonly z.core.$ZodIssue[], root: readonly PropertyKey[] = []): string[] {
  const line = (path: readonly PropertyKey[], message: string) => {
    const where = jsonPath([...root, ...path]);
    return where === '' ? message : `${where}: ${message}`;
  };
  return issues.flatMap((issue) => {
    switch (issue.code) {
      case 'unrecognized_keys':
        return issue.keys.map((key) => line([...issue.path, key], 'Unrecognized key'));
      case 'invalid_key':
        // Zod's own message ("Invalid key in record") does not say what is wrong with the key; its issues do.
        return [line(issue.path, issue.issues.map((inner) => inner.message).join('; '))];
      default:
        return [line(issue.path, issue.message)];
    }
  });
}
