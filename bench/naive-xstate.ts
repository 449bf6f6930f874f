/**
 * The naive reference of the engine benchmark: what a job costs when written the obvious way with XState v5 —
 * one actor per job (`createActor` + `start`), a START event into a state that invokes a `fromPromise` no-op,
 * run to its final state. A first measurement on these machines gave about 106 µs of CPU per job.
 */
import { createActor, fromPromise, setup } from 'xstate';

export const naiveJobMachine = setup({
  actors: { work: fromPromise(async () => undefined) },
}).createMachine({
  id: 'naiveJob',
  initial: 'queued',
  states: {
    queued: { on: { START: 'running' } },
    running: { invoke: { src: 'work', onDone: 'done', onError: 'failed' } },
    done: { type: 'final' },
    failed: { type: 'final' },
  },
});

function runOne(): Promise<void> {
  return new Promise((resolve, reject) => {
    const actor = createActor(naiveJobMachine);
    actor.subscribe({ complete: () => resolve(), error: reject });
    actor.start();
    actor.send({ type: 'START' });
  });
}

/** Runs `jobs` naive jobs, at most `concurrency` at a time (one lane of sequential jobs per slot). */
export async function runNaiveJobs(jobs: number, concurrency: number): Promise<void> {
  const lanes = Array.from({ length: concurrency }, async (_, lane) => {
    for (let i = lane; i < jobs; i += concurrency) await runOne();
  });
  await Promise.all(lanes);
}
