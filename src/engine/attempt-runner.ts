import { PROGRESS_MAX_BYTES } from './job-record.js';
import { jsonText } from '../json-text.js';
import type { Processor, ProcessorContext, ProcessorJob } from '../processors/processor.js';

/** Where the attempts of each job type go: its processor and its time limit. */
export interface ProcessorRouter {
  processorFor(type: string): Processor;
  /** The attempt time limit of a type, ms; 0 means none. */
  timeoutFor(type: string): number;
}

/** Told of each progress value a running attempt reports (already checked: JSON, within PROGRESS_MAX_BYTES). */
export type ProgressListener = (jobId: string, value: unknown) => void;

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
}

export interface AttemptRunner {
  /** Runs one attempt; its outcome is sent to `owner` as an event. */
  start(job: ProcessorJob, owner: AttemptOwner): void;
  /** Aborts the job's running attempt, if any, through its signal; its outcome is still reported. */
  abort(jobId: string, reason: Error): void;
  /** The job's actor is gone (a shutdown past its deadline): aborts its attempt, if any, and reports nothing. */
  release(jobId: string, reason: Error): void;
  /** How many attempts have their processor running (the others wait for the writes before them). */
  processorsRunning(): number;
}

/**
 * One running attempt, and the context its processor is given. The AbortController is made only when the
 * processor reads `signal` or the attempt is aborted: most attempts never need one, and making one for each
 * was a measurable share of the engine's cost per job (docs/performance.md).
 */
class Attempt implements ProcessorContext {
  private controller: AbortController | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** False once the outcome is reported or the attempt released: later progress is ignored. */
  current = true;
  /** True once the processor has been called (after the writes before the attempt, with a durable store). */
  started = false;

  constructor(
    readonly owner: AttemptOwner,
    private readonly jobId: string,
    private readonly onProgress: ProgressListener | undefined,
  ) {}

  private boundProgress: ((value: unknown) => void) | undefined;

  /** Bound on first use, so that `({ progress }) => progress(x)` works too; most attempts never read it. */
  get progress(): (value: unknown) => void {
    return (this.boundProgress ??= (value) => this.report(value));
  }

  private report(value: unknown): void {
    const json = jsonText(value);
    if (json === undefined) throw new TypeError('progress must be a JSON value');
    const bytes = Buffer.byteLength(json);
    if (bytes > PROGRESS_MAX_BYTES) {
      throw new TypeError(`progress is ${bytes} bytes as JSON; the limit is ${PROGRESS_MAX_BYTES}`);
    }
    if (this.current) this.onProgress?.(this.jobId, JSON.parse(json) as unknown);
  }

  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }

  abort(reason: Error): void {
    (this.controller ??= new AbortController()).abort(reason);
  }
}

/**
 * Runs processor attempts for the job actors. An attempt is a plain promise rather than an invoked XState
 * actor: a child actor per attempt roughly doubles the engine's cost per job (measured when the engine was first built), while the chart
 * stays the same: the job machine names `runAttempt` and `abortAttempt` as side effects and reacts to the
 * `ATTEMPT_SUCCEEDED` / `ATTEMPT_FAILED` events sent here.
 *
 * An attempt's signal aborts when it outlives `timeoutMs` (0: no limit), when the job is cancelled, and when
 * its actor is released (a shutdown past its deadline).
 */
export function createAttemptRunner(
  /** One processor for every job, or a router by job type (whose time limits then override `timeoutMs`). */
  processors: Processor | ProcessorRouter,
  timeoutMs: number,
  /** Awaited before each attempt's processor runs (a durable store's flush); a rejection is asked again. */
  beforeAttempt?: () => Promise<void>,
  onProgress?: ProgressListener,
): AttemptRunner {
  const running = new Map<string, Attempt>();
  const processorFor = typeof processors === 'function' ? () => processors : (type: string) => processors.processorFor(type);
  const timeoutFor = typeof processors === 'function' ? () => timeoutMs : (type: string) => processors.timeoutFor(type);

  /** Stops tracking `attempt`, and its timeout; false when it was no longer the job's running attempt. */
  function takeOut(jobId: string, attempt: Attempt | undefined): attempt is Attempt {
    if (attempt === undefined || running.get(jobId) !== attempt) return false;
    running.delete(jobId);
    attempt.current = false;
    if (attempt.timer !== undefined) clearTimeout(attempt.timer);
    return true;
  }

  /** Reports the outcome, unless the attempt was settled already (by its timeout) or released. */
  function settle(jobId: string, attempt: Attempt, outcome: AttemptOutcome) {
    if (takeOut(jobId, attempt)) attempt.owner.send(outcome);
  }

  return {
    start(job, owner) {
      const attempt = new Attempt(owner, job.id, onProgress);
      running.set(job.id, attempt);
      const processor = processorFor(job.type);
      const timeoutMs = timeoutFor(job.type);
      if (timeoutMs > 0) {
        attempt.timer = setTimeout(() => {
          const error = new AttemptTimeoutError();
          attempt.abort(error);
          settle(job.id, attempt, { type: 'ATTEMPT_FAILED', error });
        }, timeoutMs);
      }
      let outcome: Promise<unknown>;
      try {
        const run = () => {
          attempt.started = true;
          return processor(job, attempt);
        };
        outcome = beforeAttempt ? untilSucceeds(beforeAttempt, attempt).then(run) : run();
      } catch (error) {
        outcome = Promise.reject(error); // a processor that throws synchronously fails its attempt all the same
      }
      outcome.then(
        (output) => settle(job.id, attempt, { type: 'ATTEMPT_SUCCEEDED', output }),
        (error: unknown) => settle(job.id, attempt, { type: 'ATTEMPT_FAILED', error }),
      );
    },

    abort(jobId, reason) {
      running.get(jobId)?.abort(reason);
    },

    release(jobId, reason) {
      const attempt = running.get(jobId);
      if (takeOut(jobId, attempt)) attempt.abort(reason);
    },

    processorsRunning() {
      let count = 0;
      for (const attempt of running.values()) if (attempt.started) count++;
      return count;
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
async function untilSucceeds(write: () => Promise<void>, attempt: Attempt): Promise<void> {
  for (;;) {
    try {
      return await write();
    } catch {
      const { signal } = attempt;
      if (signal.aborted) throw signal.reason;
      // The listener goes when the wait ends either way: an outage of many retries must not pile them up.
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          clearTimeout(timer);
          reject(signal.reason);
        };
        const timer = setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        }, WRITE_RETRY_MS);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
  }
}
