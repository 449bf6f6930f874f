import type { Processor, ProcessorJob } from '../../src/processors/processor.js';

/** One call of a scripted processor: its job, its signal, and the hands that settle it. */
export interface PendingAttempt {
  job: ProcessorJob;
  signal: AbortSignal;
  resolve(value?: unknown): void;
  reject(error: unknown): void;
}

/**
 * A processor whose attempts stay pending until the test settles them by hand. By default an aborted signal
 * rejects the attempt, as a well-behaved processor would; with `rejectOnAbort: false` it is left to the test.
 */
export function manualProcessor({ rejectOnAbort = true } = {}) {
  const calls: PendingAttempt[] = [];
  const processor: Processor = (job, { signal }) =>
    new Promise((resolve, reject) => {
      if (rejectOnAbort) {
        signal.addEventListener('abort', () => reject(signal.reason ?? new Error('aborted')), { once: true });
      }
      calls.push({ job, signal, resolve, reject });
    });
  return {
    processor,
    calls,
    /** The newest attempt of a job. */
    latest(id: string): PendingAttempt {
      const found = calls.filter((call) => call.job.id === id).at(-1);
      if (!found) throw new Error(`no attempt of ${id} started`);
      return found;
    },
  };
}

/** A processor that takes `workMs` of (fake) time and then fails on the attempts listed in `failOn`. */
export function scriptedProcessor(workMs: number, failOn: (job: ProcessorJob) => unknown | undefined): Processor {
  return (job, { signal }) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = failOn(job);
        if (error) reject(error);
        else resolve(undefined);
      }, workMs);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(signal.reason);
      }, { once: true });
    });
}

/** A small seeded PRNG (mulberry32), so a "random" run is the same run every time. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
