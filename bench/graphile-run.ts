/**
 * One round of the graphile-worker peer, in a fresh process, in a schema of its own that must not exist yet (the
 * harness drops it after):
 * - `bench/graphile-run throughput <database url> <schema> <jobs> <concurrency>`: jobs added with `addJobs` in
 *   chunks of 1000, while `run` with `concurrency` slots runs a no-op task. Prints jobs/s from the first add to
 *   the last job handled.
 * - `bench/graphile-run latency <database url> <schema> <samples> <concurrency>`: with the runner idle, adds one
 *   job at a time through WorkerUtils (its own pool, so the job is announced by PostgreSQL's NOTIFY as from
 *   another process) and records add → start: from before `addJob` to the task's first line.
 * Either prints one JSON line with the figures and the configuration used.
 *
 * The configuration is the one of graphile-worker's performance page (concurrency, a pool of concurrency + 1,
 * the local queue of 500 jobs, completions and failures batched with no delay), at our concurrency.
 */
import { Logger, makeWorkerUtils, run, type Runner, type TaskList } from 'graphile-worker';

const [mode, url, schema, countArg, concurrencyArg] = process.argv.slice(2);
const count = Number(countArg);
const concurrency = Number(concurrencyArg);

const GRAPHILE_CONFIG = {
  concurrency,
  maxPoolSize: concurrency + 1,
  preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
};
/** graphile-worker logs every job at info by default; only its errors are kept. */
const quiet = new Logger(() => (level, message) => {
  if (level === 'error') console.error(message);
});

async function start(taskList: TaskList): Promise<Runner> {
  return run({ connectionString: url!, schema: schema!, noHandleSignals: true, logger: quiet, taskList, ...GRAPHILE_CONFIG });
}

async function throughput() {
  let handled = 0;
  let resolveAll!: () => void;
  const allHandled = new Promise<void>((resolve) => (resolveAll = resolve));
  const runner = await start({
    noop: async () => {
      if (++handled === count) resolveAll();
    },
  });
  const utils = await makeWorkerUtils({ connectionString: url!, schema: schema!, logger: quiet });
  const wall0 = performance.now();
  for (let added = 0; added < count; added += 1000) {
    const size = Math.min(1000, count - added);
    await utils.addJobs(Array.from({ length: size }, () => ({ identifier: 'noop', payload: {} })));
  }
  await allHandled;
  const wallMs = performance.now() - wall0;
  await utils.release();
  await runner.stop();
  return { jobs: count, jobs_per_s: (count / wallMs) * 1000 };
}

async function latency() {
  let started: ((at: number) => void) | undefined;
  const runner = await start({
    probe: async () => {
      started?.(performance.now());
    },
  });
  const utils = await makeWorkerUtils({ connectionString: url!, schema: schema!, logger: quiet });
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = new Promise<number>((resolve) => (started = resolve));
    const added = performance.now();
    await utils.addJob('probe', {});
    latencies.push((await start) - added);
    // Lets the worker settle back to idle (the completion written, the local queue waiting) before the next.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await utils.release();
  await runner.stop();
  return { samples: count, latencies_ms: latencies };
}

const result = mode === 'latency' ? await latency() : await throughput();
console.log(JSON.stringify({ ...result, config: GRAPHILE_CONFIG }));
process.exit(0);
