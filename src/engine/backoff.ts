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
  // jitterMs + 1 equal cells, one per whole ms from 0 to jitterMs: uniform over the closed interval. (Rounding
  // `random() · jitterMs` instead gives 0 and jitterMs half a cell each, so half the chance of the others.)
  const jitter = Math.floor(random() * (options.jitterMs + 1));
  return exponential + jitter;
}
