import type { Logger } from 'pino';
import type { Processor } from '../processors/processor.js';
import type { TaskContext, TaskHandler } from './task-handler.js';

/**
 * A task handler `(payload, ctx) => result` as the engine's processor, run on the event loop: for task modules
 * without thread isolation, and for the handlers a program passes to `createJobService`.
 */
export function handlerProcessor(handler: TaskHandler, logger: Logger): Processor {
  return async (job, engine) => {
    let log: Logger | undefined;
    const ctx: TaskContext = {
      id: job.id,
      type: job.type,
      attempt: job.attempt,
      // Read through, not copied: the engine makes an attempt's AbortController only when its signal is read.
      get signal() {
        return engine.signal;
      },
      // Made on first use: most handlers of a busy type never log.
      get log() {
        return (log ??= logger.child({ job_id: job.id, type: job.type, attempt: job.attempt }));
      },
      progress: (value) => engine.progress(value),
    };
    return handler(job.payload, ctx);
  };
}
