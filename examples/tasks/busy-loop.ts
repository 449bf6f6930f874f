/**
 * Example task module: the job type `busy-loop` (named after this file), CPU-bound work. Submit
 * `{"type": "busy-loop", "payload": {"ms": 500}}`: the handler spins the CPU for `ms` milliseconds.
 *
 * On the event loop that would stall every timer, request and other job for the whole time; with
 * `isolation: 'thread'` it runs in a worker thread of this type's own pool, and the service stays responsive.
 * A timeout or cancel terminates the thread: a handler in a thread need not watch `ctx.signal`.
 */
import { PermanentError, type JobTypeOptions, type TaskContext } from 'xstate-job-service';

export const options = {
  isolation: 'thread',
  // At most 4 spin at once: a pool of at most 4 threads (fewer if WORKERS is lower).
  concurrency: 4,
  // An attempt still spinning after 10 s is stopped: its thread is terminated.
  timeout_ms: 10_000,
} satisfies JobTypeOptions;

/** The spin, ms, when the payload sets none. */
const DEFAULT_MS = 500;
/** How often progress is reported while spinning, ms. */
const PROGRESS_EVERY_MS = 250;

export default async function busyLoop(payload: unknown, ctx: TaskContext): Promise<{ spun_ms: number }> {
  const ms = isRecord(payload) && payload.ms !== undefined ? payload.ms : DEFAULT_MS;
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0) {
    throw new PermanentError(`payload.ms must be a non-negative integer (milliseconds), got ${JSON.stringify(ms)}`);
  }
  const start = performance.now();
  let reported = start;
  for (let now = start; now - start < ms; now = performance.now()) {
    // Deliberately busy: no await, so nothing else runs on this thread until the loop ends.
    if (now - reported >= PROGRESS_EVERY_MS) {
      ctx.progress({ spun_ms: Math.round(now - start) });
      reported = now;
    }
  }
  return { spun_ms: Math.round(performance.now() - start) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
