/**
 * The benchmark harness behind `npm run bench` (and the smoke test). Every headline figure is a ratio taken in
 * one run, the two sides alternating, because the machines are shared and noisy. Heavy work runs one thing at a
 * time: the machines have two cores.
 *
 * Rows:
 * 1. HTTP submit throughput, one job per request: wrk, 32 keep-alive connections, the service vs the floor app.
 * 2. Engine CPU per job in process: `createJobQueue` (64 workers, no-op processor) vs the naive XState reference.
 * 3. End to end over HTTP: jobs through `POST /jobs/batch` until all are done, vs BullMQ on a local Redis.
 * 4. Memory: heap per retained finished job; and heap after 1M jobs vs after 100k with a bounded retention.
 * 5. Latency of single submits paced at half the maximum rate measured in row 1.
 * 6. Timer accuracy: how late retries start against their `next_retry_at`, under the load of row 3; 6b, how late
 *    scheduled jobs come due against their `next_run_at`, under the same load (bench/scheduled-lateness.ts).
 * 7. HTTP targets end to end: jobs of an HTTP target type against a no-op receiver on loopback, vs the same jobs
 *    as a no-op task module, alternating, in one service per round.
 * 8. PostgreSQL: 1 and 2 instances vs pg-boss and graphile-worker on the same database, and submit → start
 *    across instances (bench/postgres-rows.ts).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, platform, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, hasCommand, nodeArgs, ROOT, runScript, spawnBounded, waitForPort, type Child } from './processes.js';
import { writeQueuedJobs } from './backlog-file.js';
import { engineRound, type EngineRound } from './engine-run.js';
import { getJson, inParallel, keepAliveAgent, median, percentile, send } from './http-client.js';
import { memoryRun, queuedRun, type MemoryRun, type QueuedRun } from './memory-run.js';
import { postgresRows } from './postgres-rows.js';
import { scheduledLatenessRow } from './scheduled-lateness.js';
import type { Scale } from './scale.js';

export interface Row {
  /** 1–6, with a letter where one item of the issue has two rows. */
  id: string;
  title: string;
  /** Our side, with its unit. */
  ours: string;
  /** The other side of the comparison, if any. */
  reference: string;
  /** The headline figure the target is about. */
  headline: string;
  target: string;
  /** Null when the row was skipped or has no pass/fail. */
  met: boolean | null;
  /** Why the row was skipped. */
  skipped?: string;
  /** The raw numbers, for results.json. */
  data: Record<string, unknown>;
}

export interface BenchResults {
  date: string;
  scale: string;
  machine: { cpu: string; cores: number; node: string; os: string };
  rows: Row[];
}

export interface BenchOptions {
  scale: Scale;
  /**
   * The rows to run, by number (`BENCH_ROWS=2,4`); all when undefined. Rows 1 and 5 share their service. `6`
   * runs 6 and 6b, `6b` only 6b (each has a service of its own).
   */
  only?: ReadonlySet<string>;
  /** Where results.json goes; none when undefined. */
  resultsPath?: string;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** The service's no-op configuration. STORE is explicit: the default may become a durable store. */
const SERVICE_ENV = {
  WORK_MIN_MS: '0',
  WORK_MAX_MS: '0',
  FAILURE_RATE: '0',
  QUEUE_SIZE: '1000000',
  WORKERS: '64',
  LOG_LEVEL: 'warn',
  STORE: 'memory',
  JOB_RETENTION: '10000',
  HOST: '127.0.0.1',
};

/** How long a stopped service may take to drain before it is killed: nothing of it is measured by then. */
export const STOP_GRACE_MS = 500;

export const fmt = (value: number, digits = 0) =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a';

export interface RunningService {
  port: number;
  child: Child;
}

export async function startService(env: Record<string, string> = {}): Promise<RunningService> {
  const port = await freePort();
  const child = spawnBounded(process.execPath, nodeArgs('src/main'), {
    ...SERVICE_ENV,
    ...env,
    PORT: String(port),
  });
  await waitForPort(port, child);
  return { port, child };
}

/** The used heap a service reports in its metrics, once the garbage of its start has had time to go. */
async function heapUsed(port: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('nodejs_heap_size_used_bytes '));
  if (!line) throw new Error('no nodejs_heap_size_used_bytes in /metrics');
  return Number(line.split(' ')[1]);
}

/**
 * Row 4d: the heap of a service started over a SQLite file holding `jobs` queued jobs, and of one over an
 * empty file, both with one worker kept busy (so the rest wait) and a capacity for all of them.
 */
async function backlogHeap(jobs: number) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-backlog-'));
  try {
    const full = join(dir, 'full.db');
    writeQueuedJobs(full, jobs);
    const env = { WORKERS: '1', QUEUE_SIZE: String(jobs), WORK_MIN_MS: '600000', WORK_MAX_MS: '600000' };
    const measure = async (file: string) => {
      const run = await startService({ ...env, STORE: `sqlite:${file}` });
      try {
        return await heapUsed(run.port);
      } finally {
        await run.child.stop(STOP_GRACE_MS);
      }
    };
    const empty_heap_bytes = await measure(join(dir, 'empty.db'));
    const loaded_heap_bytes = await measure(full);
    return { jobs, empty_heap_bytes, loaded_heap_bytes, file_bytes: statSync(full).size };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function startFloor(): Promise<RunningService> {
  const port = await freePort();
  const child = spawnBounded(process.execPath, nodeArgs('bench/floor-app'), { PORT: String(port) });
  await waitForPort(port, child);
  return { port, child };
}

/** Requests/s of one wrk run against POST /jobs; throws if any answer was not a 2xx. */
async function wrk(port: number, seconds: number): Promise<number> {
  const child = spawnBounded('wrk', [
    '-t1',
    '-c32',
    `-d${seconds}s`,
    '-s',
    join(ROOT, 'bench', 'submit.lua'),
    `http://127.0.0.1:${port}/jobs`,
  ]);
  const code = await child.exited;
  const output = child.output();
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(output);
  if (code !== 0 || !rate) throw new Error(`wrk failed (${code}):\n${output}`);
  const bad = /Non-2xx or 3xx responses:\s+(\d+)/.exec(output);
  if (bad) throw new Error(`wrk saw ${bad[1]} non-2xx answers:\n${output}`);
  return Number(rate[1]);
}

/** The most single submits/s a closed loop of 32 keep-alive clients gets: row 5's fallback when wrk is absent. */
async function closedLoopRate(port: number, seconds: number): Promise<number> {
  const agent = keepAliveAgent(32);
  const end = performance.now() + seconds * 1000;
  let count = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (performance.now() < end) {
        await send(agent, port, 'POST', '/jobs', '{"payload":null,"max_retries":0}');
        count++;
      }
    }),
  );
  agent.destroy();
  return (count / (performance.now() - started)) * 1000;
}

/**
 * Submits single jobs at `rate` per second for `seconds` (after one unmeasured second), open loop: each request
 * has an intended send time on a fixed schedule, and its latency counts from then, so a stall delays the
 * requests behind it and is counted in them (no coordinated omission, as wrk2 does it).
 */
async function pacedLatencies(port: number, rate: number, seconds: number): Promise<{ latencies: number[]; errors: number }> {
  const agent = keepAliveAgent(64);
  const interval = 1000 / rate;
  const warmUp = Math.round(rate);
  const total = warmUp + Math.round(rate * seconds);
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  let answered = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const fire = (index: number, intended: number) => {
      send(agent, port, 'POST', '/jobs', '{"payload":null,"max_retries":0}').then(
        (reply) => {
          if (reply.status !== 202) errors++;
          else if (index >= warmUp) latencies.push(performance.now() - intended);
          if (++answered === total) resolve();
        },
        () => {
          errors++;
          if (++answered === total) resolve();
        },
      );
    };
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor((performance.now() - start) / interval) + 1);
      while (sent < due) {
        fire(sent, start + sent * interval);
        sent++;
      }
      if (sent === total) clearInterval(timer);
    }, 1);
  });
  agent.destroy();
  return { latencies, errors };
}

export interface LatencySummary {
  samples: number;
  errors: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
}

/** Resolves once the service has no unfinished job. */
export async function untilIdle(port: number): Promise<void> {
  const agent = keepAliveAgent(1);
  while ((await getJson<{ queue: { used: number } }>(agent, port, '/stats')).queue.used > 0) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  agent.destroy();
}

/** Row 5's figures of one paced run; also row 6b's, of its lateness samples (`errors` 0). */
export function latencySummary({ latencies, errors }: { latencies: number[]; errors: number }): LatencySummary {
  const at = (p: number) => percentile(latencies, p);
  return { samples: latencies.length, errors, p50_ms: at(50), p90_ms: at(90), p99_ms: at(99), max_ms: at(100) };
}

/**
 * Pushes `jobs` jobs through POST /jobs/batch, 1000 per request, 4 requests in flight, then polls /stats until
 * every one is done or failed (beyond the `finishedBefore` jobs the service had finished already). Returns the
 * wall time from the first request, in ms. Given several instances of one cluster, the requests go to them in
 * turn, and the jobs finished are the sum of theirs (each instance counts the jobs it ran).
 */
export async function pushThroughBatches(port: number | number[], jobs: number, item: string, finishedBefore = 0): Promise<number> {
  const ports = Array.isArray(port) ? port : [port];
  const agent = keepAliveAgent(4 * ports.length);
  const requests: { size: number; port: number }[] = [];
  for (let left = jobs; left > 0; left -= 1000) {
    requests.push({ size: Math.min(1000, left), port: ports[requests.length % ports.length]! });
  }
  const bodies = new Map<number, string>();
  const bodyOf = (size: number) => {
    let body = bodies.get(size);
    if (!body) bodies.set(size, (body = `{"jobs":[${Array(size).fill(item).join(',')}]}`));
    return body;
  };
  const started = performance.now();
  await inParallel(requests, 4, async ({ size, port }) => {
    const reply = await send(agent, port, 'POST', '/jobs/batch', bodyOf(size));
    if (reply.status !== 200) throw new Error(`POST /jobs/batch: ${reply.status} ${reply.body.slice(0, 500)}`);
    const { results } = JSON.parse(reply.body) as { results: { status: number }[] };
    const refused = results.filter((r) => r.status !== 202).length;
    if (refused > 0) throw new Error(`POST /jobs/batch refused ${refused} of ${size} jobs`);
  });
  for (;;) {
    let finished = 0;
    for (const each of ports) {
      const { totals } = await getJson<{ totals: { done: number; failed: number } }>(agent, each, '/stats');
      finished += totals.done + totals.failed;
    }
    if (finished >= finishedBefore + jobs) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const wallMs = performance.now() - started;
  agent.destroy();
  return wallMs;
}

/** One entry of GET /jobs/:id/history, the fields the timer rows read. */
export interface HistoryEntry {
  at: string;
  from: string | null;
  to: string;
  delay_ms: number | null;
}

/**
 * Row 6's measurement, read after the load: every retry's start (the `backoff → running` transition's `at`)
 * minus its `next_retry_at`, which is the `backoff` entry's `at` plus its `delay_ms` (the machine sets both
 * from one clock reading). The histories are read from GET /jobs/:id/history of the jobs GET /jobs lists with
 * more than one attempt (the run keeps every record), so measuring adds no load while the load runs.
 */
async function retryLateness(port: number, sample: number): Promise<number[]> {
  const agent = keepAliveAgent(16);
  const retried: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { jobs: { id: string; attempts: number }[]; next_cursor: string | null } = await getJson(
      agent,
      port,
      `/jobs?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    for (const job of page.jobs) if (job.attempts > 1 && retried.length < sample) retried.push(job.id);
    cursor = page.next_cursor;
  } while (cursor && retried.length < sample);
  const lateness: number[] = [];
  await inParallel(retried, 16, async (id) => {
    const { transitions } = await getJson<{ transitions: HistoryEntry[] }>(agent, port, `/jobs/${encodeURIComponent(id)}/history`);
    for (let i = 1; i < transitions.length; i++) {
      const entry = transitions[i]!;
      const backoff = transitions[i - 1]!;
      if (entry.from !== 'backoff' || entry.to !== 'running' || backoff.to !== 'backoff') continue;
      lateness.push(Date.parse(entry.at) - (Date.parse(backoff.at) + backoff.delay_ms!));
    }
  });
  agent.destroy();
  return lateness;
}

async function startRedis(): Promise<{ port: number; child: Child }> {
  const port = await freePort();
  const child = spawnBounded('redis-server', [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--daemonize', 'no',
    '--loglevel', 'warning',
  ]);
  await waitForPort(port, child);
  return { port, child };
}

export async function runBench({ scale, resultsPath, only, log = () => {} }: BenchOptions): Promise<BenchResults> {
  const rows: Row[] = [];
  const runs = (row: string) => !only || only.has(row);
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    os: `${platform()} ${release()}`,
  };
  const date = new Date().toISOString();
  const haveWrk = await hasCommand('wrk');
  const haveRedis = await hasCommand('redis-server');

  // ── Rows 1 and 5: one service process and the floor app, alternating under wrk, then paced at one rate ──
  if (runs('1') || runs('5')) {
    const service = await startService();
    const floor = await startFloor();
    try {
      let maxRate: number;
      if (haveWrk) {
        if (scale.wrkWarmUpSeconds > 0) {
          log('row 1: warming up');
          await wrk(service.port, scale.wrkWarmUpSeconds);
          await wrk(floor.port, scale.wrkWarmUpSeconds);
        }
        const ours: number[] = [];
        const floors: number[] = [];
        for (let round = 1; round <= scale.rounds; round++) {
          ours.push(await wrk(service.port, scale.wrkSeconds));
          floors.push(await wrk(floor.port, scale.wrkSeconds));
          log(`row 1 round ${round}: service ${fmt(ours.at(-1)!)} req/s, floor ${fmt(floors.at(-1)!)} req/s`);
        }
        const ratio = median(ours) / median(floors);
        maxRate = median(ours);
        rows.push({
          id: '1',
          title: 'HTTP submit, one job per request (wrk, 32 connections)',
          ours: `${fmt(median(ours))} req/s`,
          reference: `floor app ${fmt(median(floors))} req/s`,
          headline: `${fmt(ratio, 2)} of the floor`,
          target: '≥ 0.55 of the floor',
          met: ratio >= 0.55,
          data: { service_req_s: ours, floor_req_s: floors, ratio },
        });
      } else {
        log('row 1: wrk is not installed; skipped (apt-get install -y wrk)');
        rows.push(skippedRow('1', 'HTTP submit, one job per request (wrk, 32 connections)', '≥ 0.70 of the floor', 'wrk is not installed'));
        maxRate = await closedLoopRate(service.port, Math.max(1, scale.wrkSeconds / 2));
      }

      // The floor app is paced at the same rate by the same client, in alternating rounds: its p99 is what this
      // client, on this machine, can measure at all, and a stall of the machine shows in both sides' rounds.
      const rate = Math.max(1, Math.round(maxRate / 2));
      await untilIdle(service.port); // wrk's submissions can outrun the engine; their backlog is not row 5's load
      const ours: LatencySummary[] = [];
      const floors: LatencySummary[] = [];
      for (let round = 1; round <= scale.rounds; round++) {
        ours.push(latencySummary(await pacedLatencies(service.port, rate, scale.latencySeconds)));
        floors.push(latencySummary(await pacedLatencies(floor.port, rate, scale.latencySeconds)));
        log(`row 5 round ${round} at ${rate}/s: service p99 ${fmt(ours.at(-1)!.p99_ms, 2)} ms, floor p99 ${fmt(floors.at(-1)!.p99_ms, 2)} ms`);
      }
      const medianOf = (rounds: LatencySummary[], key: 'p50_ms' | 'p99_ms') => median(rounds.map((round) => round[key]));
      const p99 = medianOf(ours, 'p99_ms');
      const errors = ours.reduce((sum, round) => sum + round.errors, 0);
      rows.push({
        id: '5',
        title: `Latency of a single submit at 50% of the max rate (${fmt(rate)}/s, open loop)`,
        ours: `p50 ${fmt(medianOf(ours, 'p50_ms'), 2)} ms, p99 ${fmt(p99, 2)} ms`,
        reference: `floor app at the same rate: p50 ${fmt(medianOf(floors, 'p50_ms'), 2)} ms, p99 ${fmt(medianOf(floors, 'p99_ms'), 2)} ms`,
        headline: `p99 ${fmt(p99, 2)} ms`,
        target: 'p99 ≤ 5 ms',
        met: p99 <= 5 && errors === 0,
        data: { rate_per_s: rate, max_rate_per_s: maxRate, service_rounds: ours, floor_rounds: floors },
      });
    } finally {
      await floor.child.stop(STOP_GRACE_MS);
      await service.child.stop(STOP_GRACE_MS);
    }
  }

  // ── Row 2: the engine in process vs the naive XState reference, each round a fresh process ──
  // The engine runs with the service's V8 flags, as `npm start` runs it; the naive reference is measured both as
  // the issue defines it (Node's defaults) and with the same flags, so the flags' share of the ratio shows.
  if (runs('2')) {
    const engine: number[] = [];
    const naive: number[] = [];
    const naiveTuned: number[] = [];
    for (let round = 1; round <= scale.rounds; round++) {
      const measure = async (kind: string, runtime: 'tuned' | 'default') =>
        (scale.inProcess
          ? await engineRound(kind, scale.engineJobs, 64, runtime)
          : await runScript<EngineRound>('engine-run', [kind, String(scale.engineJobs), '64', runtime])
        ).cpu_us_per_job;
      engine.push(await measure('engine', 'tuned'));
      naive.push(await measure('naive', 'default'));
      naiveTuned.push(await measure('naive', 'tuned'));
      log(
        `row 2 round ${round}: engine ${fmt(engine.at(-1)!, 1)} µs/job, naive ${fmt(naive.at(-1)!, 1)} µs/job ` +
          `(${fmt(naiveTuned.at(-1)!, 1)} with the service's V8 flags)`,
      );
    }
    const ours = median(engine);
    const reference = median(naive);
    rows.push({
      id: '2',
      title: `Engine CPU per job, in process (${fmt(scale.engineJobs)} jobs, 64 workers)`,
      ours: `${fmt(ours, 1)} µs/job`,
      reference: `naive XState ${fmt(reference, 1)} µs/job (${fmt(median(naiveTuned), 1)} with the service's V8 flags)`,
      headline: `${fmt(reference / ours, 2)}× the naive`,
      target: '≤ 35 µs/job',
      met: ours <= 35,
      data: {
        engine_us_per_job: engine,
        naive_us_per_job: naive,
        naive_with_service_flags_us_per_job: naiveTuned,
        speedup: reference / ours,
        speedup_same_flags: median(naiveTuned) / ours,
      },
    });
  }

  // ── Row 3: end to end over POST /jobs/batch vs BullMQ, alternating; 3b: the same on the durable store ──
  if (runs('3')) {
    const ours: number[] = [];
    const durable: number[] = [];
    const bull: number[] = [];
    const redis = haveRedis ? await startRedis() : undefined;
    try {
      for (let round = 1; round <= scale.endToEndRounds; round++) {
        const run = await startService();
        try {
          ours.push((scale.endToEndJobs / (await pushThroughBatches(run.port, scale.endToEndJobs, '{"max_retries":0}'))) * 1000);
        } finally {
          await run.child.stop(STOP_GRACE_MS);
        }
        const dir = await mkdtemp(join(tmpdir(), 'bench-sqlite-'));
        try {
          const onDisk = await startService({ STORE: `sqlite:${join(dir, 'jobs.db')}`, DURABILITY: 'normal' });
          try {
            const ms = await pushThroughBatches(onDisk.port, scale.endToEndJobs, '{"max_retries":0}');
            durable.push((scale.endToEndJobs / ms) * 1000);
          } finally {
            await onDisk.child.stop(STOP_GRACE_MS);
          }
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
        if (redis) {
          const result = await runScript<{ jobs_per_s: number }>('bullmq-run', [
            String(redis.port), String(scale.endToEndJobs), '64', `bench-${round}`,
          ]);
          bull.push(result.jobs_per_s);
        }
        log(
          `row 3 round ${round}: service ${fmt(ours.at(-1)!)} jobs/s, on sqlite ${fmt(durable.at(-1)!)} jobs/s` +
            (redis ? `, BullMQ ${fmt(bull.at(-1)!)} jobs/s` : ''),
        );
      }
    } finally {
      await redis?.child.stop();
    }
    const title = `End to end over HTTP (${fmt(scale.endToEndJobs)} jobs via POST /jobs/batch, 1000 per request)`;
    if (redis) {
      const ratio = median(ours) / median(bull);
      rows.push({
        id: '3',
        title,
        ours: `${fmt(median(ours))} jobs/s`,
        reference: `BullMQ ${fmt(median(bull))} jobs/s (addBulk, concurrency 64)`,
        headline: `${fmt(ratio, 2)}× BullMQ`,
        target: '≥ 1.5× BullMQ',
        met: ratio >= 1.5,
        data: { service_jobs_s: ours, bullmq_jobs_s: bull, ratio },
      });
      const durableRatio = median(durable) / median(bull);
      rows.push({
        id: '3b',
        title: 'The same on the durable store (STORE=sqlite, DURABILITY=normal)',
        ours: `${fmt(median(durable))} jobs/s`,
        reference: `BullMQ ${fmt(median(bull))} jobs/s (same rounds)`,
        headline: `${fmt(durableRatio, 2)}× BullMQ`,
        target: '≥ 1.0× BullMQ',
        met: durableRatio >= 1,
        data: { service_sqlite_jobs_s: durable, bullmq_jobs_s: bull, ratio: durableRatio },
      });
    } else {
      log('row 3: redis-server is not installed; BullMQ skipped (apt-get install -y redis-server)');
      rows.push({
        ...skippedRow('3', title, '≥ 1.5× BullMQ', 'redis-server is not installed: BullMQ not measured'),
        ours: `${fmt(median(ours))} jobs/s`,
        data: { service_jobs_s: ours },
      });
      rows.push({
        ...skippedRow('3b', 'The same on the durable store (STORE=sqlite, DURABILITY=normal)', '≥ 1.0× BullMQ', 'redis-server is not installed: BullMQ not measured'),
        ours: `${fmt(median(durable))} jobs/s`,
        data: { service_sqlite_jobs_s: durable },
      });
    }
  }

  // ── Row 7: HTTP targets vs a no-op task module, the same service, alternating sides ──
  if (runs('7')) rows.push(await httpTargetRow(scale, log));

  // ── Row 8: the PostgreSQL store, 1 and 2 instances, vs pg-boss and graphile-worker, alternating ──
  if (runs('8')) rows.push(...(await postgresRows(scale, log)));

  // ── Row 4: memory ──
  if (runs('4')) {
    log('row 4: memory');
    const memoryScript = <T>(args: string[]) =>
      runScript<T>('memory-run', args, { nodeOptions: ['--expose-gc', '--max-old-space-size=8192'] });
    const memory = (retention: number, checkpoints: number[]) =>
      scale.inProcess
        ? memoryRun(retention, checkpoints)
        : memoryScript<MemoryRun>([String(retention), checkpoints.join(',')]);
    const full = await memory(scale.memoryJobs, [scale.memoryJobs]);
    const last = full.heaps.at(-1)!;
    const perJob = (last.heap_bytes - full.baseline_bytes) / last.retained;
    rows.push({
      id: '4a',
      title: `Heap per retained finished job (${fmt(scale.memoryJobs)} jobs, all retained)`,
      ours: `${fmt(perJob)} B/job`,
      reference: '',
      headline: `${fmt(perJob)} B/job`,
      target: '≤ 600 B/job',
      met: perJob <= 600,
      data: { ...full },
    });
    const leak = await memory(scale.leakRetention, scale.leakCheckpoints);
    const early = leak.heaps[0]!;
    const late = leak.heaps[1]!;
    const growth = late.heap_bytes / early.heap_bytes - 1;
    rows.push({
      id: '4b',
      title: `Heap after ${fmt(late.jobs)} jobs vs after ${fmt(early.jobs)} (retention ${fmt(scale.leakRetention)})`,
      ours: `${fmt(late.heap_bytes / 1e6, 1)} MB vs ${fmt(early.heap_bytes / 1e6, 1)} MB`,
      reference: '',
      headline: `${growth >= 0 ? '+' : ''}${fmt(growth * 100, 1)}%`,
      target: 'within 10%',
      met: Math.abs(growth) <= 0.1,
      data: { ...leak },
    });
    // What QUEUE_SIZE costs on the memory store: a waiting job is its compact record in the store's lane.
    const queued = scale.inProcess
      ? await queuedRun(scale.queuedJobs)
      : await memoryScript<QueuedRun>(['queued', String(scale.queuedJobs)]);
    const perQueued = (queued.heap_bytes - queued.baseline_bytes) / queued.jobs;
    rows.push({
      id: '4c',
      title: `Heap per job waiting for a worker, memory store (${fmt(scale.queuedJobs)} jobs)`,
      ours: `${fmt(perQueued)} B/job`,
      reference: '',
      headline: `${fmt(perQueued)} B/job`,
      target: '≤ 700 B/job',
      met: perQueued <= 700,
      data: { ...queued },
    });
    // And on SQLite: the waiting jobs are rows, so the heap should not grow with them at all.
    const backlog = await backlogHeap(scale.backlogJobs);
    const growthMiB = (backlog.loaded_heap_bytes - backlog.empty_heap_bytes) / 2 ** 20;
    rows.push({
      id: '4d',
      title: `Heap growth with ${fmt(scale.backlogJobs)} jobs waiting on SQLite, over an empty service`,
      ours: `${fmt(growthMiB, 1)} MiB`,
      reference: '',
      headline: `${fmt(growthMiB, 1)} MiB`,
      target: '≤ 64 MiB',
      met: growthMiB <= 64,
      data: { ...backlog },
    });
  }

  // ── Row 6: retry timers under the load of row 3, with failures ──
  if (runs('6')) {
    log('row 6: retry lateness under load');
    const run = await startService({ FAILURE_RATE: '0.2', JOB_RETENTION: '1000000' });
    try {
      const wallMs = await pushThroughBatches(run.port, scale.endToEndJobs, '{}');
      const lateness = await retryLateness(run.port, scale.timerSample);
      const p99 = percentile(lateness, 99);
      rows.push({
        id: '6',
        title: `Retry lateness vs next_retry_at (load of row 3, FAILURE_RATE=0.2)`,
        ours: `p50 ${fmt(percentile(lateness, 50))} ms, p99 ${fmt(p99)} ms`,
        reference: '',
        headline: `p99 ${fmt(p99)} ms`,
        target: 'p99 ≤ 10 ms',
        met: p99 <= 10,
        data: {
          jobs_per_s: (scale.endToEndJobs / wallMs) * 1000,
          retries_measured: lateness.length,
          p50_ms: percentile(lateness, 50),
          p90_ms: percentile(lateness, 90),
          p99_ms: p99,
          max_ms: percentile(lateness, 100),
        },
      });
    } finally {
      await run.child.stop(STOP_GRACE_MS);
    }
  }

  // ── Row 6b: the due timer of scheduled jobs under the load of row 3 ──
  if (runs('6') || runs('6b')) rows.push(await scheduledLatenessRow(scale, log));

  rows.sort((a, b) => a.id.localeCompare(b.id));
  const results: BenchResults = { date, scale: scale.name, machine, rows };
  if (resultsPath) await writeFile(resultsPath, JSON.stringify(results, null, 2) + '\n');
  return results;
}

/**
 * Row 7. Each round starts a receiver and a service that has both types (a no-op task module `noop`, and an HTTP
 * target `hook` pointing at the receiver), then pushes the same number of jobs of each, the target first.
 */
async function httpTargetRow(scale: Scale, log: (line: string) => void): Promise<Row> {
  const jobs = scale.httpTargetJobs;
  const target: number[] = [];
  const module: number[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'bench-types-'));
  try {
    await mkdir(join(dir, 'tasks'));
    await writeFile(join(dir, 'tasks', 'noop.mjs'), 'export default async () => null;\n');
    for (let round = 1; round <= scale.rounds; round++) {
      const receiverPort = await freePort();
      const receiver = spawnBounded(process.execPath, nodeArgs('bench/noop-receiver'), { PORT: String(receiverPort) });
      await waitForPort(receiverPort, receiver);
      const typesFile = join(dir, 'job-types.json');
      await writeFile(typesFile, JSON.stringify({ types: { hook: { url: `http://127.0.0.1:${receiverPort}/` } } }));
      const run = await startService({
        TASKS_DIR: join(dir, 'tasks'),
        JOB_TYPES_FILE: typesFile,
        WEBHOOK_SECRET: `whsec_${Buffer.from('bench-secret-of-32-bytes-exactly').toString('base64')}`,
      });
      try {
        target.push((jobs / (await pushThroughBatches(run.port, jobs, '{"type":"hook","max_retries":0}'))) * 1000);
        module.push((jobs / (await pushThroughBatches(run.port, jobs, '{"type":"noop","max_retries":0}', jobs))) * 1000);
      } finally {
        await run.child.stop(STOP_GRACE_MS);
        await receiver.stop();
      }
      log(`row 7 round ${round}: HTTP target ${fmt(target.at(-1)!)} jobs/s, task module ${fmt(module.at(-1)!)} jobs/s`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const ratio = median(target) / median(module);
  return {
    id: '7',
    title: `HTTP targets end to end (${fmt(jobs)} jobs, no-op receiver on loopback, keep-alive, WORKERS=64)`,
    ours: `${fmt(median(target))} jobs/s`,
    reference: `no-op task module ${fmt(median(module))} jobs/s (same service, same rounds)`,
    headline: `${fmt(ratio, 2)} of the module`,
    target: '≥ 0.5 of the module',
    met: ratio >= 0.5,
    data: { http_target_jobs_s: target, task_module_jobs_s: module, ratio },
  };
}

export function skippedRow(id: string, title: string, target: string, reason: string): Row {
  return { id, title, ours: 'skipped', reference: '', headline: 'skipped', target, met: null, skipped: reason, data: {} };
}

/** The results as a Markdown table, headed by the machine and the date. */
export function formatTable(results: BenchResults): string {
  const { machine } = results;
  const lines = [
    `Machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.os}`,
    `Date: ${results.date} (BENCH_SCALE=${results.scale})`,
    '',
    '| # | benchmark | ours | reference | headline | target | met |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...results.rows.map(
      (row) =>
        `| ${row.id} | ${row.title} | ${row.ours} | ${row.skipped ?? row.reference} | ${row.headline} | ${row.target} | ${
          row.met === null ? '–' : row.met ? 'yes' : 'no'
        } |`,
    ),
  ];
  return lines.join('\n') + '\n';
}
