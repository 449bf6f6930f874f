/** What a processor is given: the job and the attempt number (1 for the first attempt). */
export interface ProcessorJob {
  id: string;
  payload: unknown;
  attempt: number;
}

export interface ProcessorContext {
  /** Aborted when the attempt times out, the job is cancelled, or a shutdown's deadline passes. Stop promptly. */
  signal: AbortSignal;
}

/**
 * The unit of work. A resolve is a success; a reject is a failed attempt whose message becomes the job's
 * `last_error`. Throw `PermanentError` to skip the remaining retries.
 */
export type Processor = (job: ProcessorJob, ctx: ProcessorContext) => Promise<unknown>;
