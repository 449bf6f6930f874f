import type { Logger } from 'pino';
import type { Processor } from '../processors/processor.js';
import type { TaskHandler } from './task-handler.js';

/**
 * A task handler `(payload, ctx) => result` as the engine's processor: the context it gets carries the job's
 * id, type and attempt, the attempt's signal, a logger bound to the job, and the progress reporter. Used for
 * task modules that run on the main thread and for the handlers a program passes to `createJobService`.
 */
export function handlerProcessor(handler: TaskHandler, logger: Logger): Processor {
  return async (job, context) =>
    handler(job.payload, {
      id: job.id,
      type: job.type,
      attempt: job.attempt,
      signal: context.signal,
      log: logger.child({ job_id: job.id, type: job.type, attempt: job.attempt }),
      progress: (value) => context.progress(value),
    });
}
