import { expect } from 'chai';
import { createJobQueue, type JobQueueOptions } from '../../src/engine/job-queue.js';
import type { JobRecord, JobState, Transition } from '../../src/engine/job-record.js';
import type { JobStore } from '../../src/store/job-store.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import type { JobQueue } from '../../src/engine/job-queue.types.js';
import type { Processor } from '../../src/processors/processor.js';

/**
 * A job queue on the (fake) global clock, with a fixed jitter source; it collects every transition and every
 * error the actors did not handle, which a test should expect to be empty.
 */
export function makeQueue(
  processor: Processor,
  overrides: Partial<JobQueueOptions> = {},
  random = () => 0.5,
  store?: JobStore,
) {
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
    { processor, store, now: () => Date.now(), random, onError: (error) => unhandled.push(error) },
  );
  const transitions: Transition[] = [];
  queue.on('transition', (transition) => transitions.push(transition));
  return { queue, transitions, unhandled };
}

/**
 * A memory store holding copies of `records` as a durable store holds them after a restart: queued jobs wait
 * in the lane of new jobs, in the order given; nothing else waits in a lane.
 */
export function storeOf(records: readonly JobRecord[], retention = 10_000): JobStore {
  const store = createMemoryStore({ retention });
  for (const record of records) {
    const copy = JSON.parse(JSON.stringify(record)) as JobRecord;
    void store.save(copy, null, copy.state === 'queued' ? 'new' : undefined);
  }
  return store;
}

/** The states of the jobs `ids`, in that order. */
export async function states(queue: JobQueue, ids: readonly string[]): Promise<(JobState | undefined)[]> {
  return Promise.all(ids.map(async (id) => (await queue.get(id))?.state));
}

/** The error a promise rejects with; fails the test when it resolves. */
export async function rejection<E = unknown>(promise: Promise<unknown>): Promise<E> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: E) => error,
  );
}
