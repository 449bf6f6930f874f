/**
 * One round of the engine benchmark: `node --import tsx bench/engine-run.ts <engine|naive> <jobs> <workers>
 * [tuned|default]`, in a fresh process, prints one JSON line: the CPU µs per job (user + system,
 * `process.cpuUsage`) and jobs/s. A warm-up of 5% of the jobs (at most 5000) runs first, unmeasured, for both
 * kinds alike. `tuned` applies the service's V8 flags (src/runtime.ts) first, as its entry point does.
 */
import { pathToFileURL } from 'node:url';
import { engineLoad } from './engine-load.js';
import { runNaiveJobs } from './naive-xstate.js';
import { tuneRuntime } from '../src/runtime.js';

export interface EngineRound {
  kind: 'engine' | 'naive';
  runtime: 'tuned' | 'default';
  jobs: number;
  cpu_us_per_job: number;
  jobs_per_s: number;
}

export async function engineRound(
  kind: string,
  jobs: number,
  workers: number,
  runtime: 'tuned' | 'default',
): Promise<EngineRound> {
  if (runtime === 'tuned') tuneRuntime();
  let run: (count: number) => Promise<void>;
  if (kind === 'engine') {
    const load = engineLoad({ workers, retention: 10_000 });
    run = (count) => load.run(count);
  } else if (kind === 'naive') {
    run = (count) => runNaiveJobs(count, workers);
  } else {
    throw new Error(`unknown kind ${kind}`);
  }
  await run(Math.min(5000, Math.ceil(jobs * 0.05)));
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  await run(jobs);
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - wall0;
  return { kind, runtime, jobs, cpu_us_per_job: (cpu.user + cpu.system) / jobs, jobs_per_s: (jobs / wallMs) * 1000 };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [kind, jobs, workers, runtime = 'default'] = process.argv.slice(2);
  if (runtime !== 'tuned' && runtime !== 'default') throw new Error(`unknown runtime ${runtime}`);
  console.log(JSON.stringify(await engineRound(kind!, Number(jobs), Number(workers), runtime)));
}
