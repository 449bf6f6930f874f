/**
 * Drives jobs through `createJobQueue` in process, with a no-op processor: the load of the engine and memory
 * benchmarks. Submissions go in chunks, and the unfinished jobs stay under `maxUnfinished`, as a steady
 * producer would keep them; otherwise every actor of the run would be alive at once.
 */
import { createJobQueue } from '../src/engine/job-queue.js';
import type { JobQueue } from '../src/engine/job-queue.types.js';
import type { Processor } from '../src/processors/processor.js';

export interface EngineLoad {
  queue: JobQueue;
  /** Submits `count` more jobs and resolves once every job submitted so far has finished. */
  run(count: number): Promise<void>;
  /** Resolves once at least `target` jobs have finished, counting from the start. */
  finishedAtLeast(target: number): Promise<void>;
}

const CHUNK = 1000;

export function engineLoad(options: {
  workers: number;
  retention: number;
  maxUnfinished?: number;
  /** Default: a no-op that settles in the same turn of the event loop. */
  processor?: Processor;
}): EngineLoad {
  const maxUnfinished = options.maxUnfinished ?? 10_000;
  const queue = createJobQueue(
    {
      workers: options.workers,
      queueSize: maxUnfinished + CHUNK,
      backoff: { baseMs: 0, maxMs: 0, jitterMs: 0 },
      jobTimeoutMs: 0,
      jobRetention: options.retention,
    },
    { processor: options.processor ?? (() => Promise.resolve(undefined)), onError: (error) => console.error(error) },
  );
  let finished = 0;
  let submitted = 0;
  let waiter: { target: number; resolve: () => void } | undefined;
  queue.on('transition', (t) => {
    if (t.to !== 'done' && t.to !== 'failed') return;
    finished++;
    if (waiter && finished >= waiter.target) {
      const { resolve } = waiter;
      waiter = undefined;
      resolve();
    }
  });
  const finishedAtLeast = (target: number) =>
    finished >= target ? Promise.resolve() : new Promise<void>((resolve) => (waiter = { target, resolve }));

  return {
    queue,
    finishedAtLeast,
    async run(count) {
      const end = submitted + count;
      while (submitted < end) {
        const chunk = Math.min(CHUNK, end - submitted);
        for (let i = 0; i < chunk; i++) await queue.submit({ payload: null, max_retries: 0 });
        submitted += chunk;
        await finishedAtLeast(submitted - maxUnfinished);
        // Lets timers and I/O run between chunks, as they would in a service.
        await new Promise((resolve) => setImmediate(resolve));
      }
      await finishedAtLeast(end);
    },
  };
}
