/**
 * Not a row of the table: a probe for row 4c. What one job waiting in the queue holds on the heap as the live
 * actor it is today (`createActor` + `start`, in `queued`), against what the same job would hold as the
 * machine snapshot XState computes for it without an actor (`initialTransition`: the same chart, the same
 * context, the same state). Both use the real job machine with stub side effects, so the difference is
 * XState's alone: each root actor carries its own actor system, mailbox and closures.
 *
 *   npm run bench:build && node --expose-gc dist/bench/queued-footprint.js [jobs=50000]
 *
 * Prints one JSON line, in bytes per job.
 */
import { createActor, initialTransition } from 'xstate';
import { createJobMachine, type JobMachineDeps } from '../machines/job.machine.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const ignore = () => {};
const deps: JobMachineDeps = {
  attempts: { start: ignore, abort: ignore },
  slots: { announceReady: ignore, withdrawReady: ignore, releaseSlot: ignore, releasePlace: ignore },
  recordTransition: ignore,
  now: Date.now,
  random: Math.random,
  backoffFor: () => ({ baseMs: 100, maxMs: 1000, jitterMs: 0 }),
  keepResult: (output) => ({ result: output, result_error: null, result_bytes: null }),
};
const machine = createJobMachine(deps);
const input = (i: number) => ({ id: `job-${i}`, type: 'simulated', payload: null, max_retries: 3 });

/** Heap bytes per item that `make` returns, with `count` of them alive at once. */
function bytesPerItem(count: number, make: (i: number) => unknown): number {
  for (let i = 0; i < 1000; i++) make(i); // warm-up, so code and feedback are not counted
  gc!();
  const before = process.memoryUsage().heapUsed;
  const kept: unknown[] = [];
  for (let i = 0; i < count; i++) kept.push(make(i));
  gc!();
  const after = process.memoryUsage().heapUsed;
  if (kept.length !== count) throw new Error('lost items');
  return Math.round((after - before) / count);
}

const jobs = Number(process.argv[2] ?? 50_000);
const actor = bytesPerItem(jobs, (i) => createActor(machine, { input: input(i) }).start());
const snapshot = bytesPerItem(jobs, (i) => initialTransition(machine, input(i))[0]);
console.log(JSON.stringify({ jobs, actor_bytes_per_job: actor, snapshot_bytes_per_job: snapshot }));
