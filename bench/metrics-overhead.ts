/**
 * What the metrics cost the engine's hot path (issue 7: at most 5 % of the throughput).
 *
 *   npx tsx --expose-gc bench/metrics-overhead.ts [jobs=100000] [rounds=3]
 *
 * Runs `jobs` jobs through `createJobQueue` with a no-op processor, once without and once with the metrics'
 * transition listener (`createMetrics`), alternating, `rounds` times each, after one unmeasured warm-up round of
 * each. A round submits in chunks of 1000 and keeps at most 10 000 jobs unfinished, as a steady producer would.
 * Prints each round, then the median jobs/s of each variant and their ratio, as JSON lines.
 *
 * On a busy machine the rounds vary by several percent, more than the metrics cost; so the listener is also
 * timed alone, fed the three transitions of a job that succeeds at once (SUBMIT, SLOT_GRANTED,
 * ATTEMPT_SUCCEEDED) without an engine, which gives its CPU cost per job without the noise.
 */
import { createJobQueue } from '../src/engine/job-queue.js';
import type { JobRecord, Transition } from '../src/engine/job-record.js';
import type { JobQueue } from '../src/engine/job-queue.types.js';
import { createMetrics } from '../src/metrics.js';

const JOBS = Number(process.argv[2] ?? 100_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const CHUNK = 1000;
const MAX_UNFINISHED = 10_000;

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Round {
  metrics: boolean;
  jobs_per_s: number;
  cpu_us_per_job: number;
}

async function round(withMetrics: boolean): Promise<Round> {
  (globalThis as { gc?: () => void }).gc?.();
  const queue = createJobQueue(
    {
      workers: 64,
      queueSize: MAX_UNFINISHED + CHUNK,
      backoff: { baseMs: 0, maxMs: 0, jitterMs: 0 },
      jobTimeoutMs: 0,
      jobRetention: 10_000,
    },
    { processor: () => Promise.resolve(undefined), onError: (error) => console.error(error) },
  );
  const metrics = withMetrics ? createMetrics(queue) : undefined;
  // Progress is polled from the totals, so that both variants carry exactly the same listeners but the metrics'.
  const done = () => queue.typeTotals()['simulated']?.done ?? 0;

  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  for (let submitted = 0; submitted < JOBS; ) {
    while (submitted - done() > MAX_UNFINISHED - CHUNK) await tick();
    const count = Math.min(CHUNK, JOBS - submitted);
    for (let i = 0; i < count; i++) void queue.submit({ payload: null, max_retries: 0 });
    submitted += count;
    await tick();
  }
  while (done() < JOBS) await tick();
  const wallMs = performance.now() - wall0;
  const cpu = process.cpuUsage(cpu0);

  metrics?.close();
  if (withMetrics) {
    // The metrics saw every job: a check that the listener really ran.
    const text = await metrics!.registry.metrics();
    if (!text.includes(`jobsvc_jobs_finished_total{state="done"} ${JOBS}`)) throw new Error('metrics missed jobs');
  }
  await queue.drain(1000);
  return {
    metrics: withMetrics,
    jobs_per_s: Math.round((JOBS / wallMs) * 1000),
    cpu_us_per_job: Math.round(((cpu.user + cpu.system) / JOBS) * 10) / 10,
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** ns of the metrics listener per job, fed synthetic transitions (no engine). */
function listenerAlone(): number {
  let listener!: (t: Transition) => void;
  const record = { started_at: 0, next_retry_at: null } as unknown as JobRecord;
  const stub = {
    on: (_event: string, fn: (t: Transition) => void) => ((listener = fn), () => {}),
    get: () => record,
    stats: () => ({}),
    types: () => [{ name: 'simulated' }],
  } as unknown as JobQueue;
  const metrics = createMetrics(stub);
  const ids = Array.from({ length: JOBS }, (_, i) => `job-${i}`);
  const transition = (id: string, from: Transition['from'], to: Transition['to'], event: string, at: number) =>
    ({ id, type: 'simulated', from, to, event, at, attempt: 1, error: null, delay_ms: null, delay_source: null }) satisfies Transition;
  // The transitions are built before the clock starts: the engine builds them anyway.
  const transitions = ids.flatMap((id, i) => [
    transition(id, null, 'queued', 'SUBMIT', i),
    transition(id, 'queued', 'running', 'SLOT_GRANTED', i + 1),
    transition(id, 'running', 'done', 'ATTEMPT_SUCCEEDED', i + 3),
  ]);
  for (let pass = 0; pass < 2; pass++) for (const t of transitions.slice(0, 30_000)) listener(t); // warm-up
  const start = process.hrtime.bigint();
  for (const t of transitions) listener(t);
  const ns = Number(process.hrtime.bigint() - start);
  metrics.close();
  return Math.round(ns / JOBS);
}

await round(false); // warm-up: JIT, heap growth
await round(true);
const results: Round[] = [];
for (let i = 0; i < ROUNDS; i++) {
  for (const withMetrics of [false, true]) {
    const result = await round(withMetrics);
    results.push(result);
    console.log(JSON.stringify({ round: i + 1, ...result }));
  }
}
const without = median(results.filter((r) => !r.metrics).map((r) => r.jobs_per_s));
const withMetrics = median(results.filter((r) => r.metrics).map((r) => r.jobs_per_s));
console.log(
  JSON.stringify({
    jobs: JOBS,
    rounds: ROUNDS,
    median_jobs_per_s_without: without,
    median_jobs_per_s_with: withMetrics,
    ratio: Math.round((withMetrics / without) * 1000) / 1000,
    overhead_percent: Math.round((1 - withMetrics / without) * 1000) / 10,
  }),
);
const listenerNs = listenerAlone();
const engineUs = median(results.filter((r) => !r.metrics).map((r) => r.cpu_us_per_job));
console.log(
  JSON.stringify({
    listener_ns_per_job: listenerNs,
    engine_cpu_us_per_job: engineUs,
    listener_share_percent: Math.round((listenerNs / 1000 / engineUs) * 1000) / 10,
  }),
);
