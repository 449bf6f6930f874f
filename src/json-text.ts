/**
 * A value's JSON text, or undefined when JSON cannot write it (a BigInt, a cycle) or writes nothing for it
 * (`undefined`, a function). Results and progress are kept as JSON, so this is how they are checked.
 */
export function jsonText(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}
