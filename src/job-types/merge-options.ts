import type { JobTypeOptions } from './job-type.js';

/**
 * A type's options with `over`'s laid over `base`'s: each key `over` sets wins, and `backoff` is merged key by
 * key, so a types file can change a task module's `backoff.max_ms` and keep its `base_ms`.
 */
export function mergeJobTypeOptions(base: JobTypeOptions, over: JobTypeOptions): JobTypeOptions {
  const merged: JobTypeOptions = { ...base, ...definedOnly(over) };
  if (base.backoff !== undefined || over.backoff !== undefined) {
    merged.backoff = { ...base.backoff, ...definedOnly(over.backoff ?? {}) };
  }
  return merged;
}

/** Without the keys set to `undefined`, which a spread would otherwise copy over a value. */
function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, inner]) => inner !== undefined)) as Partial<T>;
}
