/**
 * Row 6b: how late the engine's one due timer moves scheduled jobs to `queued`, under the load of row 3. Built as
 * row 6 is: a fresh service with `JOB_RETENTION=1000000` (so every record and history stays), the push of row 3,
 * and the histories read after the load, so measuring adds no load while the load runs.
 *
 * While the push runs, a stream of small `POST /jobs/batch` requests submits scheduled jobs, each with an id and
 * a `run_at` of its own (a distinct millisecond, LEAD_MS ahead), so the due timer re-arms for every one of them.
 * A job's lateness is its `scheduled → queued` (DUE) entry's `at` minus that `run_at`, which is its
 * `next_run_at` to the millisecond. The time it entered `running` is kept too, but it is not the timer's: a due
 * job waits in the retry lane for a worker, ahead of the push's backlog, so its start adds that wait.
 */
import { fmt, latencySummary, pushThroughBatches, startService, STOP_GRACE_MS, untilIdle, type HistoryEntry, type Row } from './harness.js';
import { getJson, inParallel, keepAliveAgent, send } from './http-client.js';
import type { Scale } from './scale.js';

/** How far ahead of its submission a scheduled job is due, in ms: more than a batch request takes under the load. */
const LEAD_MS = 200;
/** One batch of STREAM_BATCH scheduled jobs every STREAM_INTERVAL_MS: 200 a second, one due per 5 ms. */
const STREAM_INTERVAL_MS = 20;
const STREAM_BATCH = 4;

interface ScheduledJob {
  id: string;
  /** Epoch ms: the job's `run_at`, and so its `next_run_at`. */
  due: number;
}

/** Submits the stream of scheduled jobs until `loadDone()`; resolves with every job admitted. */
async function streamScheduled(port: number, loadDone: () => boolean): Promise<ScheduledJob[]> {
  const agent = keepAliveAgent(4);
  const admitted: ScheduledJob[] = [];
  const requests: Promise<void>[] = [];
  let refused: unknown = null; // kept until every request has answered, so none is left unhandled
  for (let sent = 0; !loadDone(); sent += STREAM_BATCH) {
    const now = Date.now();
    const batch = Array.from({ length: STREAM_BATCH }, (_, i) => ({
      id: `scheduled-${sent + i}`,
      due: now + LEAD_MS + (i * STREAM_INTERVAL_MS) / STREAM_BATCH,
    }));
    const body = JSON.stringify({
      jobs: batch.map(({ id, due }) => ({ id, max_retries: 0, run_at: new Date(due).toISOString() })),
    });
    requests.push(
      send(agent, port, 'POST', '/jobs/batch', body).then((reply) => {
        const results = reply.status === 200 ? (JSON.parse(reply.body) as { results: { status: number }[] }).results : [];
        if (results.length !== batch.length || results.some((r) => r.status !== 202)) {
          throw new Error(`POST /jobs/batch (scheduled): ${reply.status} ${reply.body.slice(0, 500)}`);
        }
        admitted.push(...batch);
      }).catch((error: unknown) => {
        refused ??= error;
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, STREAM_INTERVAL_MS));
  }
  await Promise.all(requests);
  agent.destroy();
  if (refused) throw refused;
  return admitted;
}

interface Lateness {
  /** DUE's `at` minus the due time; null when the job was admitted as due already (it never waited). */
  due_ms: number | null;
  /** The first `→ running` entry's `at` minus the due time. */
  start_ms: number;
}

/** One job's lateness, from GET /jobs/:id/history. */
async function latenessOf(agent: ReturnType<typeof keepAliveAgent>, port: number, job: ScheduledJob): Promise<Lateness> {
  const { transitions } = await getJson<{ transitions: (HistoryEntry & { event: string })[] }>(
    agent,
    port,
    `/jobs/${encodeURIComponent(job.id)}/history`,
  );
  const due = transitions.find((entry) => entry.from === 'scheduled' && entry.to === 'queued' && entry.event === 'DUE');
  const start = transitions.find((entry) => entry.to === 'running');
  if (!start) throw new Error(`scheduled job ${job.id} never ran: ${JSON.stringify(transitions)}`);
  return { due_ms: due ? Date.parse(due.at) - job.due : null, start_ms: Date.parse(start.at) - job.due };
}

export async function scheduledLatenessRow(scale: Scale, log: (line: string) => void): Promise<Row> {
  log('row 6b: scheduled-job lateness under load');
  const run = await startService({ JOB_RETENTION: '1000000' });
  try {
    let loadEndedAt: number | null = null;
    const load = pushThroughBatches(run.port, scale.endToEndJobs, '{"max_retries":0}').then((wallMs) => {
      loadEndedAt = Date.now();
      return wallMs;
    });
    const scheduled = await streamScheduled(run.port, () => loadEndedAt !== null);
    const wallMs = await load;
    const lastDue = Math.max(...scheduled.map((job) => job.due));
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, lastDue - Date.now()) + 50));
    await untilIdle(run.port);

    // Only the jobs due while the push ran were due under its load; the stream's last ones come due after it.
    const underLoad = scheduled.filter((job) => job.due <= loadEndedAt!).slice(0, scale.timerSample);
    const agent = keepAliveAgent(16);
    const measured: Lateness[] = [];
    await inParallel(underLoad, 16, async (job) => void measured.push(await latenessOf(agent, run.port, job)));
    agent.destroy();
    const timer = latencySummary({ latencies: measured.flatMap((m) => (m.due_ms === null ? [] : [m.due_ms])), errors: 0 });
    const start = latencySummary({ latencies: measured.map((m) => m.start_ms), errors: 0 });
    const figures = ({ p50_ms, p90_ms, p99_ms, max_ms }: typeof timer) =>
      `p50 ${fmt(p50_ms)}, p90 ${fmt(p90_ms)}, p99 ${fmt(p99_ms)}, max ${fmt(max_ms)} ms`;
    log(
      `row 6b: ${fmt(timer.samples)} of ${fmt(scheduled.length)} scheduled jobs due under load ` +
        `(${fmt(measured.length - timer.samples)} admitted already due), at ${fmt((scale.endToEndJobs / wallMs) * 1000)} jobs/s`,
    );
    log(`row 6b: DUE vs next_run_at ${figures(timer)}; start vs next_run_at ${figures(start)}`);
    return {
      id: '6b',
      title: 'Scheduled-job lateness, DUE vs next_run_at (load of row 3)',
      ours: `p50 ${fmt(timer.p50_ms)} ms, p99 ${fmt(timer.p99_ms)} ms`,
      reference: `start (→ running) vs next_run_at: p50 ${fmt(start.p50_ms)} ms, p99 ${fmt(start.p99_ms)} ms`,
      headline: `p99 ${fmt(timer.p99_ms)} ms`,
      target: 'p99 ≤ 10 ms',
      met: timer.p99_ms <= 10,
      data: {
        jobs_per_s: (scale.endToEndJobs / wallMs) * 1000,
        scheduled_submitted: scheduled.length,
        due_under_load: underLoad.length,
        admitted_already_due: measured.length - timer.samples,
        due_lateness: timer,
        start_lateness: start,
      },
    };
  } finally {
    await run.child.stop(STOP_GRACE_MS);
  }
}
