/**
 * The memory benchmark: `node --expose-gc --import tsx bench/memory-run.ts <retention> <checkpoint>[,<checkpoint>…]`
 * in a fresh process. Runs jobs through `createJobQueue` (no-op processor, 64 workers, the memory store keeping
 * `retention` finished records) and, at each checkpoint (jobs finished so far), collects garbage and reads the
 * heap. Prints one JSON line: the heap before any job and at each checkpoint, in bytes.
 */
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { engineLoad } from './engine-load.js';

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

export async function memoryRun(retention: number, checkpoints: number[]): Promise<MemoryRun> {
  const gc = collector();
  const settledHeap = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    return process.memoryUsage().heapUsed;
  };
  const load = engineLoad({ workers: 64, retention });
  const baseline = await settledHeap();
  const heaps: MemoryRun['heaps'] = [];
  let done = 0;
  for (const checkpoint of checkpoints) {
    await load.run(checkpoint - done);
    done = checkpoint;
    heaps.push({ jobs: checkpoint, retained: Math.min(checkpoint, retention), heap_bytes: await settledHeap() });
  }
  return { retention, baseline_bytes: baseline, heaps };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [retention, checkpoints] = process.argv.slice(2);
  console.log(JSON.stringify(await memoryRun(Number(retention), checkpoints!.split(',').map(Number))));
}
