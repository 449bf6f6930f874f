import type { Processor, ProcessorJob } from './processor.js';

/** The error recorded when an attempt outlives JOB_TIMEOUT_MS. */
export class AttemptTimeoutError extends Error {
  constructor() {
    super('timeout');
    this.name = 'AttemptTimeoutError';
  }
}

/** What an attempt reports back to its job actor. */
export type AttemptOutcome = { type: 'ATTEMPT_SUCCEEDED'; output: unknown } | { type: 'ATTEMPT_FAILED'; error: unknown };

/** The job actor, as far as the runner is concerned. */
export interface AttemptOwner {
  send(event: AttemptOutcome): void;
  subscribe(observer: { complete: () => void }): { unsubscribe(): void };
}

export interface AttemptRunner {
  /** Runs one attempt; its outcome is sent to `owner` as an event. */
  start(job: ProcessorJob, owner: AttemptOwner): void;
  /** Aborts the job's running attempt, if any, through its signal. */
  abort(jobId: string, reason: Error): void;
}

/**
 * Runs processor attempts for the job actors. An attempt is a plain promise rather than an invoked XState
 * actor: a child actor per attempt roughly doubles the engine's cost per job (see DESIGN.md), while the chart
 * stays the same: the job machine names `runAttempt` and `abortAttempt` as side effects and reacts to the
 * `ATTEMPT_SUCCEEDED` / `ATTEMPT_FAILED` events sent here.
 *
 * An attempt's signal aborts when it outlives `timeoutMs` (0: no limit), when the job is cancelled, and when
 * its actor stops (a shutdown past its deadline).
 */
export function createAttemptRunner(
  processor: Processor,
  timeoutMs: number,
  /** Awaited before each attempt's processor runs (a durable store's flush); a rejection is asked again. */
  beforeAttempt?: () => Promise<void>,
): AttemptRunner {
  const running = new Map<string, AbortController>();

  return {
    start(job, owner) {
      const controller = new AbortController();
      running.set(job.id, controller);
      const stopped = owner.subscribe({
        complete: () => {
          // The actor is gone: abort the work, and report nothing to it.
          running.delete(job.id);
          clearTimeout(timer);
          controller.abort(new Error('stopped'));
        },
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const settle = (outcome: AttemptOutcome) => {
        if (running.get(job.id) !== controller) return; // already settled (e.g. by the timeout)
        running.delete(job.id);
        clearTimeout(timer);
        stopped.unsubscribe();
        owner.send(outcome);
      };
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          const error = new AttemptTimeoutError();
          controller.abort(error);
          settle({ type: 'ATTEMPT_FAILED', error });
        }, timeoutMs);
      }
      const run = () => processor(job, { signal: controller.signal });
      let attempt: Promise<unknown>;
      try {
        attempt = beforeAttempt ? untilSucceeds(beforeAttempt, controller.signal).then(run) : run();
      } catch (error) {
        attempt = Promise.reject(error); // a processor that throws synchronously fails its attempt all the same
      }
      attempt.then(
        (output) => settle({ type: 'ATTEMPT_SUCCEEDED', output }),
        (error: unknown) => settle({ type: 'ATTEMPT_FAILED', error }),
      );
    },

    abort(jobId, reason) {
      running.get(jobId)?.abort(reason);
    },
  };
}

/** How long to wait before asking again for writes that failed (a full disk, say) before an attempt. */
export const WRITE_RETRY_MS = 250;

/**
 * Resolves once `write` succeeds, asking again every WRITE_RETRY_MS: a storage failure delays an attempt but is
 * never its outcome, so a full disk cannot use up a job's retries. Rejects only when `signal` aborts (a
 * cancel, a timeout, a shutdown).
 */
async function untilSucceeds(write: () => Promise<void>, signal: AbortSignal): Promise<void> {
  for (;;) {
    try {
      return await write();
    } catch {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, WRITE_RETRY_MS);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(signal.reason);
        }, { once: true });
      });
    }
  }
}
