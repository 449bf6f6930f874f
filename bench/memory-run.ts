/**
 * The memory benchmark: `node --expose-gc --import tsx bench/memory-run.ts <retention> <checkpoint>[,<checkpoint>…]`
 * in a fresh process. Runs jobs through `createJobQueue` (no-op processor, 64 workers, the memory store keeping
 * `retention` finished records) and, at each checkpoint (jobs finished so far), collects garbage and reads the
 * heap. Prints one JSON line: the heap before any job and at each checkpoint, in bytes.
 *
 * `node --expose-gc --import tsx bench/memory-run.ts queued <jobs>` measures unfinished jobs instead: it submits
 * `jobs` jobs to one worker whose attempt never ends, so all but one wait in the queue, and prints the heap
 * before and after.
 */
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { engineLoad } from './engine-load.js';
import { createJobQueue } from '../src/engine/job-queue.js';

export interface MemoryRun {
  retention: number;
  baseline_bytes: number;
  heaps: { jobs: number; retained: number; heap_bytes: number }[];
}

/** `gc`, from `--expose-gc`, or else switched on now (good enough for the smoke run, which runs in process). */
function collector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

export interface QueuedRun {
  jobs: number;
  baseline_bytes: number;
  heap_bytes: number;
}

/** The heap used once garbage is collected and pending callbacks have run. */
async function settledHeap(gc: () => void): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

export async function memoryRun(retention: number, checkpoints: number[]): Promise<MemoryRun> {
  const gc = collector();
  const load = engineLoad({ workers: 64, retention });
  const baseline = await settledHeap(gc);
  const heaps: MemoryRun['heaps'] = [];
  let done = 0;
  for (const checkpoint of checkpoints) {
    await load.run(checkpoint - done);
    done = checkpoint;
    heaps.push({ jobs: checkpoint, retained: Math.min(checkpoint, retention), heap_bytes: await settledHeap(gc) });
  }
  return { retention, baseline_bytes: baseline, heaps };
}

/** Submits `jobs` jobs that all stay unfinished: one runs an attempt that never ends, the rest wait. */
export async function queuedRun(jobs: number): Promise<QueuedRun> {
  const gc = collector();
  const queue = createJobQueue(
    { workers: 1, queueSize: jobs, backoff: { baseMs: 0, maxMs: 0, jitterMs: 0 }, jobTimeoutMs: 0, jobRetention: 0 },
    { processor: () => new Promise(() => {}), onError: (error) => console.error(error) },
  );
  const baseline = await settledHeap(gc);
  for (let i = 0; i < jobs; i++) await queue.submit({ payload: null, max_retries: 0 });
  const heap = await settledHeap(gc);
  if ((await queue.stats()).states.queued !== jobs - 1) throw new Error(`expected ${jobs - 1} queued jobs`);
  return { jobs, baseline_bytes: baseline, heap_bytes: heap };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [first, second] = process.argv.slice(2);
  const result =
    first === 'queued'
      ? await queuedRun(Number(second))
      : await memoryRun(Number(first), second!.split(',').map(Number));
  console.log(JSON.stringify(result));
}
