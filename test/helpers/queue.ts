import { expect } from 'chai';
import { createJobQueue, type JobQueueOptions } from '../../src/engine/job-queue.js';
import type { Transition } from '../../src/engine/job-record.js';
import type { Processor } from '../../src/processors/processor.js';

/**
 * A job queue on the (fake) global clock, with a fixed jitter source; it collects every transition and every
 * error the actors did not handle, which a test should expect to be empty.
 */
export function makeQueue(processor: Processor, overrides: Partial<JobQueueOptions> = {}, random = () => 0.5) {
  const unhandled: unknown[] = [];
  const queue = createJobQueue(
    {
      workers: 2,
      queueSize: 3,
      backoff: { baseMs: 100, maxMs: 30_000, jitterMs: 100 },
      jobTimeoutMs: 0,
      jobRetention: 10_000,
      expectedWorkMs: 1000,
      ...overrides,
    },
    { processor, now: () => Date.now(), random, onError: (error) => unhandled.push(error) },
  );
  const transitions: Transition[] = [];
  queue.on('transition', (transition) => transitions.push(transition));
  return { queue, transitions, unhandled };
}

/** The error a promise rejects with; fails the test when it resolves. */
export async function rejection<E = unknown>(promise: Promise<unknown>): Promise<E> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: E) => error,
  );
}
