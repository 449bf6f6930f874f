/**
 * The Prometheus metrics, all defined here, each with the reason it exists. `GET /metrics` serves them
 * (`src/http/routes/metrics.ts`).
 *
 * Where each number comes from:
 * - the engine's `transition` events, through ONE listener that does O(1) work per transition: label children
 *   are bound once with `.labels(...)`, and the times it needs (when the attempt started, when the job became
 *   ready) come from the job's live record (`queue.peek`), so a waiting job costs the metrics nothing;
 * - `queue.stats()`, read at scrape time by the gauges' `collect()`, so the hot path pays nothing for them;
 * - the HTTP layer, which reports refused admissions (`countRejection`) and request durations
 *   (`observeRequest`) through `src/http/request-metrics.ts`.
 *
 * Every job metric carries a `type` label: job types come from configuration, so its cardinality is bounded.
 * `jobsvc_jobs_rejected_total` has none, because a refused submission may name a type that does not exist.
 *
 * Every metric of the service's own is named `jobsvc_…` (METRIC_PREFIX), job metrics `jobsvc_jobs_…`; a test
 * checks the prefix and `.ci/run` checks the exposition with `promtool check metrics`.
 *
 * Each `createMetrics` has its own `Registry`, so two apps in one process (the tests) never share counters. The
 * default process metrics (CPU, memory, event loop, GC) describe the process, not an app: they live in one
 * registry per process, created on first use, because each registration starts its own GC observer and
 * event-loop monitor that nothing could stop.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { JOB_STATES, type Transition } from './engine/job-record.js';
import type { JobQueue } from './engine/job-queue.types.js';
import type { StorageHealth } from './store/storage-health.js';

/** Why a job was not admitted: the `reason` label of `jobsvc_jobs_rejected_total`. */
export const REJECTION_REASONS = ['queue_full', 'scheduled_full', 'duplicate', 'validation', 'shutting_down'] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** How an attempt ended: the `outcome` label of `jobsvc_jobs_attempts_total`. */
export const ATTEMPT_OUTCOMES = ['success', 'failure', 'timeout', 'cancelled', 'interrupted'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

const FINISHED_STATES = ['done', 'failed', 'cancelled'] as const;

/** Seconds. Attempts run from milliseconds (a no-op) to minutes (a report); JOB_TIMEOUT_MS caps them at a day. */
const ATTEMPT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800];
/** Seconds. A wait is near 0 while workers are free and grows with the backlog. */
const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800];
/** Seconds. Most requests take about a millisecond; a cancel may wait up to 1 s for its attempt to stop. */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export interface ServiceMetrics {
  /** This app's metrics (the process metrics are not in it). */
  readonly registry: Registry;
  /** The Content-Type of `exposition()`: the Prometheus text format 0.0.4. */
  readonly contentType: string;
  /** The process metrics, then this app's, in the Prometheus text format. */
  exposition(): Promise<string>;
  /** Counts a job not admitted: a refused submission, or a manual retry refused for capacity or a shutdown. */
  countRejection(reason: RejectionReason): void;
  /** Counts a write of a job's record that changed nothing: another instance owns the job now (PostgreSQL). */
  countFencedWrite(): void;
  /** Records one HTTP request; `route` is the router's path pattern (e.g. `/jobs/:id`), never the raw URL. */
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  /** Counts a cron schedule's fire that submitted its job. */
  countScheduleFire(schedule: string): void;
  /** Stops listening to the queue's transitions. */
  close(): void;
}

/** The prefix of every metric of the service's own (the process metrics keep prom-client's names). */
export const METRIC_PREFIX = 'jobsvc_';

/**
 * prom-client's default gauges that carry a `_total` suffix, which Prometheus keeps for counters
 * (`promtool check metrics` refuses them). prom-client can prefix its default metrics but not rename one, so
 * they are dropped: each is the sum of its labelled sibling (`sum(nodejs_active_handles)`).
 */
export const DROPPED_PROCESS_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const;

let processRegistry: Registry | undefined;

/** The default process metrics, registered once per process (see the header). */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
    for (const name of DROPPED_PROCESS_METRICS) processRegistry.removeSingleMetric(name);
  }
  return processRegistry;
}

export function createMetrics(queue: JobQueue, storage?: Pick<StorageHealth, 'failures'>): ServiceMetrics {
  // A scrape collects every gauge at once: they share one read of the stats (each is several store reads).
  let statsInFlight: ReturnType<JobQueue['stats']> | undefined;
  const scrapeStats = () => (statsInFlight ??= queue.stats().finally(() => (statsInFlight = undefined)));
  const registry = new Registry();
  const registers = [registry];

  // Why: a storage outage (a full disk) refuses every submission; alert on this rising. Read at each scrape.
  if (storage) {
    new Counter({
      name: 'jobsvc_store_commit_failures_total',
      help: 'Commits of the job store that failed (each retried until one succeeds).',
      registers,
      collect() {
        this.reset();
        this.inc(storage.failures);
      },
    });
  }

  // Why: the arrival rate; with jobsvc_jobs_finished_total it gives the backlog's growth. Manual retries excluded.
  // Read from the engine's totals at each scrape, like jobsvc_jobs_finished_total, so both agree with /stats even
  // when a submission is undone (a failed write answered 503).
  const typeNames = queue.typeNames();
  /** Every configured type, plus any other a restored job carries, each once. */
  const knownTypes = (seen: Iterable<string>) => [...new Set([...typeNames, ...seen])];
  new Counter({
    name: 'jobsvc_jobs_submitted_total',
    help: 'Jobs admitted by a submission, by type (manual retries are not counted).',
    labelNames: ['type'] as const,
    registers,
    collect() {
      const totals = queue.typeTotals();
      this.reset();
      for (const type of knownTypes(Object.keys(totals))) this.labels(type).inc(totals[type]?.submitted ?? 0);
    },
  });
  // Why: load shedding (queue_full) and client bugs (validation, duplicate) are what to alert on.
  const rejected = new Counter({
    name: 'jobsvc_jobs_rejected_total',
    help: `Jobs not admitted, by reason: ${REJECTION_REASONS.join(', ')}.`,
    labelNames: ['reason'] as const,
    registers,
  });
  // Why: throughput and the failure ratio, per outcome.
  new Counter({
    name: 'jobsvc_jobs_finished_total',
    help: 'Jobs that reached done, failed or cancelled, by state and type (a job retried by an operator can finish again).',
    labelNames: ['state', 'type'] as const,
    registers,
    collect() {
      const totals = queue.typeTotals();
      this.reset();
      for (const type of knownTypes(Object.keys(totals))) {
        for (const state of FINISHED_STATES) this.labels(state, type).inc(totals[type]?.[state] ?? 0);
      }
    },
  });
  // Why: a processor's health: failures and timeouts per attempt, before retries hide them.
  const attempts = new Counter({
    name: 'jobsvc_jobs_attempts_total',
    help: 'Attempts that ended, by outcome (success, failure, timeout, cancelled, interrupted by a restart) and type.',
    labelNames: ['outcome', 'type'] as const,
    registers,
  });
  // Why: how long the processor works; the basis for JOB_TIMEOUT_MS and for sizing WORKERS.
  const attemptDuration = new Histogram({
    name: 'jobsvc_jobs_attempt_duration_seconds',
    help: 'Duration of an attempt, from its start to its outcome, by type.',
    labelNames: ['type'] as const,
    buckets: ATTEMPT_BUCKETS,
    registers,
  });
  // Why: queueing delay, the first sign that WORKERS is too small.
  const wait = new Histogram({
    name: 'jobsvc_jobs_wait_seconds',
    help: 'Time from ready (queued, or the end of a backoff delay) to running, by type.',
    labelNames: ['type'] as const,
    buckets: WAIT_BUCKETS,
    registers,
  });
  // Why: a schedule that stops firing (paused, skipped by overlap, refused) shows as a flat line.
  const scheduleFires = new Counter({
    name: 'jobsvc_jobs_schedule_fires_total',
    help: 'Fires of a cron schedule that submitted a job, by schedule.',
    labelNames: ['schedule'] as const,
    registers,
  });
  // Why: operators retrying by hand is toil worth seeing.
  const manualRetries = new Counter({
    name: 'jobsvc_jobs_manual_retries_total',
    help: 'Failed or cancelled jobs put back in the queue by an operator, by type.',
    labelNames: ['type'] as const,
    registers,
  });
  // Why: the backlog and the stuck jobs, per state, right now.
  new Gauge({
    name: 'jobsvc_jobs',
    help: 'Jobs per state and type, as the store holds them.',
    labelNames: ['state', 'type'] as const,
    registers,
    async collect() {
      const { types } = await scrapeStats();
      this.reset();
      for (const type of knownTypes(Object.keys(types))) {
        for (const state of JOB_STATES) this.set({ state, type }, types[type]?.[state] ?? 0);
      }
    },
  });
  // Why: starvation: higher priorities are claimed first, so a lower one can wait indefinitely behind them.
  new Gauge({
    name: 'jobsvc_jobs_oldest_waiting_seconds',
    help: 'How long the longest-waiting job of each priority has waited for a worker.',
    labelNames: ['priority'] as const,
    registers,
    async collect() {
      const { waiting } = await scrapeStats();
      this.reset();
      for (const { priority, oldest_wait_ms } of waiting) this.set({ priority: String(priority) }, oldest_wait_ms / 1000);
    },
  });
  // Why: with jobsvc_workers, saturation: busy = total for long means the pool is the bottleneck.
  new Gauge({
    name: 'jobsvc_workers_busy',
    help: 'Workers running an attempt.',
    registers,
    async collect() {
      this.set((await scrapeStats()).workers.busy);
    },
  });
  // Why: the denominator of saturation; it is configuration (WORKERS), exported so dashboards need no other source.
  new Gauge({
    name: 'jobsvc_workers',
    help: 'Workers configured (WORKERS).',
    registers,
    async collect() {
      this.set((await scrapeStats()).workers.total);
    },
  });
  // Why: with jobsvc_jobs{state=queued|running|backoff}, how close admission is to queue_full.
  new Gauge({
    name: 'jobsvc_queue_capacity',
    help: 'Unfinished jobs the queue admits (WORKERS + QUEUE_SIZE).',
    registers,
    async collect() {
      this.set((await scrapeStats()).queue.capacity);
    },
  });
  // Why: an instance that paused past its lease, whose jobs another instance took over: its late writes are
  // refused, and a count above 0 says LEASE_MS is too short for the pauses this machine has.
  const fencedWrites = new Counter({
    name: 'jobsvc_jobs_fenced_writes_total',
    help: 'Writes of a job record refused because another instance took the job over (PostgreSQL store).',
    registers,
  });
  // Why: latency and error rate per endpoint; `route` is the pattern, so its cardinality stays bounded.
  const httpDuration = new Histogram({
    name: 'jobsvc_http_request_duration_seconds',
    help: 'HTTP request duration, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers,
  });

  // Label children bound once: the listener below never builds a label object.
  const rejectedBy = bind(REJECTION_REASONS, (reason) => rejected.labels(reason));
  /** The label children of one type, bound on first use. */
  const perType = new Map<string, ReturnType<typeof bindType>>();
  const bindType = (type: string) => ({
    attempts: bind(ATTEMPT_OUTCOMES, (outcome) => attempts.labels(outcome, type)),
    duration: attemptDuration.labels(type),
    wait: wait.labels(type),
    manualRetries: manualRetries.labels(type),
  });
  const ofType = (type: string) => {
    let children = perType.get(type);
    if (!children) perType.set(type, (children = bindType(type)));
    return children;
  };
  // Every series exists from the start, at 0, so that rate() and absent() work before the first event.
  for (const child of Object.values(rejectedBy)) child.inc(0);
  for (const type of typeNames) {
    const children = ofType(type);
    for (const child of Object.values(children.attempts)) child.inc(0);
    children.manualRetries.inc(0);
    // A labelled histogram has no series until its first observation; zero() makes them at once.
    attemptDuration.zero({ type });
    wait.zero({ type });
  }

  const onTransition = (t: Transition) => {
    const { from, to } = t;
    const children = ofType(t.type);
    // The live record (running and backoff jobs have one): no store read, and no entry kept per waiting job.
    const record = queue.peek(t.id);
    if (from === 'running' && to !== 'running') {
      const started = record?.started_at ?? t.at;
      children.duration.observe(Math.max(0, t.at - started) / 1000);
      children.attempts[attemptOutcome(t)].inc();
    }
    if (to === 'queued' && t.event === 'RETRY') children.manualRetries.inc();
    // running → running is a cancel request: the attempt goes on.
    if (to === 'running' && from !== 'running' && record) {
      const ready = readySince(record.history);
      if (ready !== undefined) children.wait.observe(Math.max(0, t.at - ready) / 1000);
    }
  };
  const unsubscribe = queue.on('transition', onTransition);

  return {
    registry,
    contentType: registry.contentType,
    async exposition() {
      return (await processMetrics().metrics()) + '\n' + (await registry.metrics());
    },
    countRejection: (reason) => rejectedBy[reason].inc(),
    countFencedWrite: () => fencedWrites.inc(),
    countScheduleFire: (schedule) => scheduleFires.inc({ schedule }),
    observeRequest(method, route, status, seconds) {
      httpDuration.observe({ method, route, status: String(status) }, seconds);
    },
    close: unsubscribe,
  };
}

/**
 * When a job that just started had become ready, from its history: the move into `queued`, or the end of the
 * delay its move into `backoff` chose. Undefined when the history holds no such move (a restored backoff job's
 * delay was chosen before the restart).
 */
function readySince(history: readonly Transition[]): number | undefined {
  const before = history[history.length - 2];
  if (before?.to === 'queued') return before.at;
  if (before?.to === 'backoff' && before.event !== 'RESTORED' && before.delay_ms !== null) return before.at + before.delay_ms;
  return undefined;
}

/** The outcome of an attempt, from the transition that left `running` (checked in this order). */
function attemptOutcome(t: Transition): AttemptOutcome {
  if (t.to === 'done') return 'success';
  if (t.error === 'timeout') return 'timeout';
  if (t.event === 'RESTORED') return 'interrupted';
  if (t.to === 'cancelled') return 'cancelled';
  return 'failure';
}

function bind<K extends string, V>(keys: readonly K[], make: (key: K) => V): Record<K, V> {
  return Object.fromEntries(keys.map((key) => [key, make(key)])) as Record<K, V>;
}
