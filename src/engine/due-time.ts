/** When a submission asks to run: its `run_at` or `delay_ms`, as the absolute due time its record keeps. */
import { errors } from '../errors.js';
import type { SubmitInput } from './job-queue.types.js';

/** The longest `delay_ms` (and the furthest `run_at`) by default: 365 days, in ms. */
export const DEFAULT_MAX_DELAY_MS = 365 * 24 * 60 * 60 * 1000;

/** The scheduled jobs the store holds at most by default (SCHEDULED_LIMIT). */
export const DEFAULT_SCHEDULED_LIMIT = 1_000_000;

/**
 * The job's due time (epoch ms) when it is for later, else null: it runs now (no time given, or one not in the
 * future). Throws `validation_failed` naming the field for both at once, or for a time beyond `maxDelayMs`.
 */
export function dueTimeOf(input: Pick<SubmitInput, 'run_at' | 'delay_ms'>, now: number, maxDelayMs: number): number | null {
  const { run_at, delay_ms } = input;
  if (run_at !== undefined && delay_ms !== undefined) {
    const both = 'Give run_at or delay_ms, not both.';
    throw errors.validationFailed({ run_at: [both], delay_ms: [both] });
  }
  const field = run_at !== undefined ? 'run_at' : 'delay_ms';
  const at = run_at ?? (delay_ms === undefined ? undefined : now + delay_ms);
  if (at === undefined || at <= now) return null;
  if (at - now > maxDelayMs) {
    throw errors.validationFailed({
      [field]: [`Must be at most ${maxDelayMs} ms (MAX_DELAY_MS) from now; schedule it later, or raise MAX_DELAY_MS.`],
    });
  }
  return at;
}
