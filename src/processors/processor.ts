/** What a processor is given: the job and the attempt number (1 for the first attempt). */
export interface ProcessorJob {
  id: string;
  /** The job's type: the key its processor is registered under. */
  type: string;
  payload: unknown;
  attempt: number;
  /** The job's retry budget, as submitted (an HTTP target passes it on to its receiver). */
  max_retries: number;
}

export interface ProcessorContext {
  /** Aborted when the attempt times out, the job is cancelled, or a shutdown's deadline passes. Stop promptly. */
  signal: AbortSignal;
  /**
   * Reports the attempt's progress: any JSON value of at most 1 KiB, stored as the job's `progress` and sent on
   * the event stream (at most 10 times a second per job). Throws a `TypeError` for a value too large or not JSON.
   */
  progress(value: unknown): void;
}

/**
 * The unit of work. A resolve is a success, and the value becomes the job's `result`; a reject is a failed
 * attempt whose message becomes the job's `last_error`. Throw `PermanentError` to skip the remaining retries,
 * or `RetryLaterError` to set the next retry's delay.
 */
export type Processor = (job: ProcessorJob, ctx: ProcessorContext) => Promise<unknown>;
