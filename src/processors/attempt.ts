import { fromPromise } from 'xstate';
import type { Processor, ProcessorJob } from './processor.js';

/** The error recorded when an attempt outlives JOB_TIMEOUT_MS. */
export class AttemptTimeoutError extends Error {
  constructor() {
    super('timeout');
    this.name = 'AttemptTimeoutError';
  }
}

/**
 * The actor logic of one attempt: runs the processor with an abort signal that fires when the job actor stops
 * (XState aborts a promise actor's signal on stop) or when the attempt outlives `timeoutMs` (0: no limit).
 */
export function createAttemptLogic(processor: Processor, timeoutMs: number) {
  return fromPromise<unknown, ProcessorJob>(({ input, signal }) => runAttempt(processor, input, signal, timeoutMs));
}

async function runAttempt(processor: Processor, job: ProcessorJob, stopped: AbortSignal, timeoutMs: number) {
  if (timeoutMs <= 0) return processor(job, { signal: stopped });
  const controller = new AbortController();
  const forwardStop = () => controller.abort(stopped.reason);
  stopped.addEventListener('abort', forwardStop, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new AttemptTimeoutError();
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([processor(job, { signal: controller.signal }), timeout]);
  } finally {
    clearTimeout(timer);
    stopped.removeEventListener('abort', forwardStop);
  }
}
