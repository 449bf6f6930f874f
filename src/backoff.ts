/** Options of the retry backoff. All values are milliseconds. */
export interface BackoffOptions {
  /** The delay before retry 1, doubled for each further retry. Default 100. */
  baseMs: number;
  /** The cap on the exponential part. Default 30000. */
  maxMs: number;
  /** The upper bound of the uniform jitter added on top. Default 100. */
  jitterMs: number;
}

/**
 * The delay before retry `retry` (1 for the first retry):
 * `min(maxMs, baseMs · 2^(retry−1)) + jitter`, jitter uniform in `[0, jitterMs]`.
 * `random` returns a number in [0, 1), like `Math.random`; injected so tests can fix the jitter.
 */
export function backoffDelay(retry: number, options: BackoffOptions, random: () => number): number {
  // 2^(retry−1) overflows to Infinity for huge retry numbers, and min() then picks the cap: no special case.
  const exponential = Math.min(options.maxMs, options.baseMs * 2 ** (retry - 1));
  // Math.round makes both bounds reachable, so the jitter is uniform over the whole closed interval.
  const jitter = Math.round(random() * options.jitterMs);
  return exponential + jitter;
}
