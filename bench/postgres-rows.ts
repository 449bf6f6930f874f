/**
 * Row 8: the PostgreSQL store against pg-boss and graphile-worker on the same database, in alternating rounds.
 * Every side gets a fresh schema of its own, dropped after; the total concurrency is the same for all (64: one
 * instance with WORKERS=64, two with 32 each, pg-boss's batch of 64, graphile-worker's 64 slots); the work is
 * a no-op. The database is BENCH_DATABASE_URL, by default the local `test` database.
 *
 * 8a. One instance vs the faster peer: jobs/s from the first batch to the last job finished.
 * 8b. Two instances (real processes, requests to them in turn) vs one.
 * 8c. Submit → start across instances, idle: a job submitted to instance A, whose only worker is kept busy, is
 *     started by the idle instance B, told by A's NOTIFY; against graphile-worker's add → start in the same run.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { fmt, pushThroughBatches, skippedRow, startService, STOP_GRACE_MS, type Row, type RunningService } from './harness.js';
import { getJson, keepAliveAgent, median, percentile, send } from './http-client.js';
import { runScript } from './processes.js';
import type { Scale } from './scale.js';

const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** The total concurrency of every side. */
const CONCURRENCY = 64;
/** How long a probe of row 8c waits for the previous one's instance to be idle again, in ms. */
const PROBE_GAP_MS = 20;

interface PeerRound {
  jobs_per_s: number;
  config: unknown;
}

/** Runs `use` with a schema no one else uses, dropped afterwards, whatever happens. */
async function inFreshSchema<T>(use: (schema: string) => Promise<T>): Promise<T> {
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  try {
    return await use(schema);
  } finally {
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => client.end());
  }
}

async function databaseReachable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return `PostgreSQL is not reachable at BENCH_DATABASE_URL (${(error as Error).message})`;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Instances of the service on one schema, started together (their migrations meet under the advisory lock). */
async function startCluster(schema: string, count: number, env: Record<string, string>): Promise<RunningService[]> {
  const started = await Promise.allSettled(
    Array.from({ length: count }, () => startService({ STORE: DATABASE_URL, PG_SCHEMA: schema, ...env })),
  );
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await stopAll(started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : [])));
    throw (failed as PromiseRejectedResult).reason;
  }
  return started.map((result) => (result as PromiseFulfilledResult<RunningService>).value);
}

async function stopAll(services: RunningService[]): Promise<void> {
  await Promise.all(services.map((service) => service.child.stop(STOP_GRACE_MS)));
}

/** Jobs/s of `jobs` no-op jobs through `instances` instances sharing CONCURRENCY workers. */
async function oursThroughput(jobs: number, instances: number): Promise<number> {
  return inFreshSchema(async (schema) => {
    const cluster = await startCluster(schema, instances, { WORKERS: String(CONCURRENCY / instances) });
    try {
      const ports = cluster.map((service) => service.port);
      return (jobs / (await pushThroughBatches(ports, jobs, '{"max_retries":0}'))) * 1000;
    } finally {
      await stopAll(cluster);
    }
  });
}

const peerRound = (script: string, args: (schema: string) => string[]) =>
  inFreshSchema((schema) => runScript<PeerRound>(script, args(schema)));

/**
 * Row 8c, ours: instance A (WORKERS=1) runs a job that blocks until it is aborted, so that it cannot start
 * anything else; then B starts, idle. Each probe is submitted to A and started on B, whose task module returns
 * the time it started (this machine's clock, as the bench reads it). Returns submit → start of each probe, and
 * the part of it until A answered the submission (its admission written), in ms.
 */
async function crossInstanceStarts(samples: number): Promise<{ starts: number[]; answers: number[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-probe-'));
  await mkdir(join(dir, 'tasks'));
  await writeFile(join(dir, 'tasks', 'probe.mjs'), 'export default async () => performance.timeOrigin + performance.now();\n');
  await writeFile(
    join(dir, 'tasks', 'block.mjs'),
    "export default (payload, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));\n",
  );
  const env = { TASKS_DIR: join(dir, 'tasks') };
  const agent = keepAliveAgent(2);
  try {
    return await inFreshSchema(async (schema) => {
      const [a] = await startCluster(schema, 1, { ...env, WORKERS: '1' });
      const services = [a!];
      try {
        const blocker = await submit(agent, a!.port, '{"type":"block","max_retries":0}');
        await untilState(agent, a!.port, blocker, (job) => job.state === 'running');
        const [b] = await startCluster(schema, 1, { ...env, WORKERS: String(CONCURRENCY / 2) });
        services.push(b!);
        const starts: number[] = [];
        const answers: number[] = [];
        for (let i = 0; i < samples; i++) {
          const submitted = performance.timeOrigin + performance.now();
          const id = await submit(agent, a!.port, '{"type":"probe","max_retries":0}');
          answers.push(performance.timeOrigin + performance.now() - submitted);
          const job = await untilState(agent, a!.port, id, (record) => record.state === 'done');
          starts.push((job.result as number) - submitted);
          await new Promise((resolve) => setTimeout(resolve, PROBE_GAP_MS));
        }
        // Every probe ran on B: A's one worker never left the blocking job.
        const { totals } = await getJson<{ totals: { done: number } }>(agent, b!.port, '/stats');
        if (totals.done !== samples) throw new Error(`instance B ran ${totals.done} of ${samples} probes`);
        return { starts, answers };
      } finally {
        await stopAll(services);
      }
    });
  } finally {
    agent.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

async function submit(agent: ReturnType<typeof keepAliveAgent>, port: number, body: string): Promise<string> {
  const reply = await send(agent, port, 'POST', '/jobs', body);
  if (reply.status !== 202) throw new Error(`POST /jobs: ${reply.status} ${reply.body.slice(0, 500)}`);
  return (JSON.parse(reply.body) as { id: string }).id;
}

interface JobView {
  state: string;
  result: unknown;
}

/** Polls GET /jobs/:id (every few ms, on the instance given) until `ready` holds; gives up after 10 s. */
async function untilState(
  agent: ReturnType<typeof keepAliveAgent>,
  port: number,
  id: string,
  ready: (job: JobView) => boolean,
): Promise<JobView> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const job = await getJson<JobView>(agent, port, `/jobs/${encodeURIComponent(id)}`);
    if (ready(job)) return job;
    if (performance.now() > deadline) throw new Error(`job ${id} still ${job.state} after 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export async function postgresRows(scale: Scale, log: (line: string) => void): Promise<Row[]> {
  const jobs = scale.postgresJobs;
  const titles = {
    a: `PostgreSQL, 1 instance, end to end (${fmt(jobs)} jobs in batches of 1000, concurrency ${CONCURRENCY})`,
    b: `PostgreSQL, 2 instances (WORKERS=${CONCURRENCY / 2} each, batches to them in turn)`,
    c: 'PostgreSQL, submit → start across instances, idle (submitted to A, started on B)',
  };
  const unreachable = await databaseReachable();
  if (unreachable) {
    log(`row 8: ${unreachable}; skipped`);
    return [
      skippedRow('8a', titles.a, '≥ 1.5× the faster peer', unreachable),
      skippedRow('8b', titles.b, '≥ 1.6× 1 instance', unreachable),
      skippedRow('8c', titles.c, 'p50 ≤ 5 ms', unreachable),
    ];
  }
  const one: number[] = [];
  const two: number[] = [];
  const boss: number[] = [];
  const graphile: number[] = [];
  const ourStarts: number[] = [];
  const ourAnswers: number[] = [];
  const graphileStarts: number[] = [];
  const configs: Record<string, unknown> = {};
  for (let round = 1; round <= scale.postgresRounds; round++) {
    one.push(await oursThroughput(jobs, 1));
    two.push(await oursThroughput(jobs, 2));
    const bossRound = await peerRound('pgboss-run', (schema) => [DATABASE_URL, schema, String(jobs), String(CONCURRENCY)]);
    boss.push(bossRound.jobs_per_s);
    const graphileRound = await peerRound('graphile-run', (schema) => ['throughput', DATABASE_URL, schema, String(jobs), String(CONCURRENCY)]);
    graphile.push(graphileRound.jobs_per_s);
    Object.assign(configs, { pg_boss: bossRound.config, graphile_worker: graphileRound.config });
    log(
      `row 8 round ${round}: 1 instance ${fmt(one.at(-1)!)} jobs/s, 2 instances ${fmt(two.at(-1)!)} jobs/s, ` +
        `pg-boss ${fmt(boss.at(-1)!)} jobs/s, graphile-worker ${fmt(graphile.at(-1)!)} jobs/s`,
    );
    const probes = await crossInstanceStarts(scale.postgresLatencySamples);
    ourStarts.push(...probes.starts);
    ourAnswers.push(...probes.answers);
    const peerProbes = await inFreshSchema((schema) =>
      runScript<{ latencies_ms: number[] }>('graphile-run', [
        'latency', DATABASE_URL, schema, String(scale.postgresLatencySamples), String(CONCURRENCY),
      ]),
    );
    graphileStarts.push(...peerProbes.latencies_ms);
    log(
      `row 8c round ${round}: across instances p50 ${fmt(percentile(ourStarts, 50), 2)} ms, ` +
        `graphile-worker add → start p50 ${fmt(percentile(graphileStarts, 50), 2)} ms (so far)`,
    );
  }
  const faster = median(boss) >= median(graphile) ? 'pg-boss' : 'graphile-worker';
  const peerBest = Math.max(median(boss), median(graphile));
  const vsPeer = median(one) / peerBest;
  const scaling = median(two) / median(one);
  const startSummary = (values: number[]) => ({
    samples: values.length,
    p50_ms: percentile(values, 50),
    p90_ms: percentile(values, 90),
    p99_ms: percentile(values, 99),
    max_ms: percentile(values, 100),
  });
  const ours = startSummary(ourStarts);
  const theirs = startSummary(graphileStarts);
  return [
    {
      id: '8a',
      title: titles.a,
      ours: `${fmt(median(one))} jobs/s`,
      reference: `pg-boss ${fmt(median(boss))} jobs/s, graphile-worker ${fmt(median(graphile))} jobs/s (same rounds)`,
      // Three significant digits, so that a ratio far below 1 does not print as 0.00.
      headline: `${vsPeer.toPrecision(3)}× ${faster}`,
      target: '≥ 1.5× the faster peer',
      met: vsPeer >= 1.5,
      data: { one_instance_jobs_s: one, pg_boss_jobs_s: boss, graphile_worker_jobs_s: graphile, ratio: vsPeer, configs },
    },
    {
      id: '8b',
      title: titles.b,
      ours: `${fmt(median(two))} jobs/s`,
      reference: `1 instance ${fmt(median(one))} jobs/s (same rounds)`,
      headline: `${fmt(scaling, 2)}× 1 instance`,
      target: '≥ 1.6× 1 instance',
      met: scaling >= 1.6,
      data: { two_instances_jobs_s: two, one_instance_jobs_s: one, ratio: scaling },
    },
    {
      id: '8c',
      title: titles.c,
      ours: `p50 ${fmt(ours.p50_ms, 2)} ms, p99 ${fmt(ours.p99_ms, 2)} ms (A answered the POST at p50 ${fmt(percentile(ourAnswers, 50), 2)} ms)`,
      reference: `graphile-worker add → start p50 ${fmt(theirs.p50_ms, 2)} ms, p99 ${fmt(theirs.p99_ms, 2)} ms`,
      headline: `p50 ${fmt(ours.p50_ms, 2)} ms`,
      target: 'p50 ≤ 5 ms',
      met: ours.p50_ms <= 5,
      data: {
        ours,
        // How much of submit → start went by before A answered the POST (the admission written and announced).
        ours_submit_answered_p50_ms: percentile(ourAnswers, 50),
        graphile_worker: theirs,
        ours_ms: ourStarts,
        graphile_worker_ms: graphileStarts,
      },
    },
  ];
}
