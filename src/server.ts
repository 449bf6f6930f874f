/**
 * The running service: the job queue, the Koa app on an HTTP server, the job logs, and the graceful
 * shutdown. `main.ts` wires it to the process (config, signals, exit code); this module never reads
 * the environment and never exits, so it can be started and closed inside a test.
 *
 * Shutdown, in order:
 * 1. `queue.drain()` flips the lifecycle to `draining`: from then on `/readyz` answers 503 and submissions
 *    503 `shutting_down`, on connections that are still open. A request read in the same turn of the event
 *    loop as the signal is refused too: an admission waits for that turn's signals (`after-pending-signals.ts`).
 * 2. The server stops accepting connections; idle keep-alive connections and `GET /events` streams are closed.
 * 3. The queue drains for up to `SHUTDOWN_TIMEOUT_MS`: queued and backoff jobs still run to an end.
 * 4. Past the deadline the queue aborts the running attempts; every unfinished job is logged at `warn`
 *    with its id and state.
 * A second `close()` during a shutdown stops at once: the drain deadline becomes now, with the same report.
 *
 * With a durable store the queue is paused instead of drained in step 1 (`queue.pause()`): nothing
 * is dispatched any more, the running attempts get up to `SHUTDOWN_TIMEOUT_MS` to finish, and the rest are
 * aborted; they resume as `interrupted` at the next start. Queued and backoff jobs just wait on disk. Then
 * the store is closed, which writes everything buffered: the exit code is 0 once it is written, deadline or
 * not (exit code 1 after a timed-out drain applies to the memory store only), and 1 when that final write
 * fails (a full disk), since the transitions it held are lost. When writes fail while no processor runs, the
 * jobs still `running` all wait for a write before their attempt can start: the wait ends then rather than at
 * the deadline (`whenWritesStall`).
 *
 * Start: the store is opened first (a `StoreOpenError` when its file is locked by another instance or
 * corrupt), and the unfinished jobs it holds are taken back (`queue.recover`) before the server listens.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';
import { closeEventStreams, createApp } from './http/app.js';
import { clientErrorLogger } from './http/client-errors.js';
import { createHttpServer } from './http/http-server.js';
import { isFinished, type Transition } from './engine/job-record.js';
import { createSchedules } from './engine/schedules.js';
import { createJobQueue } from './engine/job-queue.js';
import type { DrainResult, JobQueue } from './engine/job-queue.types.js';
import type { Logger } from './logger.js';
import { createMetrics } from './metrics.js';
import type { Processor } from './processors/processor.js';
import type { JobTypeDefinition } from './job-types/job-type.js';
import { createJobTypes, DEFAULT_MAX_RETRIES, type JobTypes } from './job-types/registry.js';
import { createSimulatedProcessor } from './processors/simulated.js';
import { simulatedType } from './job-types/simulated-type.js';
import type { JobStore } from './store/job-store.js';
import { describeStore, openStore } from './store/open-store.js';
import { watchStorage } from './store/storage-health.js';

/**
 * After the drain, how long requests still in flight on open connections may take to finish before their
 * connections are destroyed, in ms. Bounds the wait for a slow or streaming client.
 */
const CONNECTION_GRACE_MS = 1000;

export interface ShutdownReport {
  /** Jobs that did not reach `done`, `failed` or `cancelled`; empty after a clean drain. */
  unfinished: DrainResult['unfinished'];
  /** True when a second `close()` cut the drain short. */
  forced: boolean;
  /**
   * Memory store: 0 after a clean drain; 1 when jobs were left or the drain was cut short.
   * Durable store: 0 once everything is written (unfinished jobs wait on disk), after a clean stop, a passed
   * deadline or a second signal alike; 1 when the final write failed (transitions it held are lost).
   */
  exitCode: 0 | 1;
}

export interface Service {
  /** Where the server listens (the real port when `PORT=0`). */
  readonly address: AddressInfo;
  readonly queue: JobQueue;
  /**
   * Shuts down gracefully (see the module header). Calling it again while the shutdown is under way stops
   * at once. Every call resolves to the same report.
   */
  close(): Promise<ShutdownReport>;
}

export interface ServiceDeps {
  /**
   * The job types (`loadJobTypes` reads them from TASKS_DIR and JOB_TYPES_FILE). Default: the built-in
   * `simulated` alone, run by `processor`.
   */
  types?: readonly JobTypeDefinition[];
  /** The processor of the built-in `simulated` type when `types` is not given. Default: the simulation of `config.work`. */
  processor?: Processor;
  /** False: no HTTP server (`startEngine`, for a program that embeds the service). Default true. */
  listen?: boolean;
  /** Default: the store `config.store` names, opened here (and closed by `close()`). */
  store?: JobStore;
}

/** The engine alone, without the HTTP server: the same start, the same graceful `close`. */
export async function startEngine(
  config: Readonly<Config>,
  logger: Logger,
  deps: Omit<ServiceDeps, 'listen'> = {},
): Promise<Omit<Service, 'address'>> {
  const { queue, close } = await startService(config, logger, { ...deps, listen: false });
  return { queue, close };
}

export async function startService(
  config: Readonly<Config>,
  logger: Logger,
  deps: ServiceDeps = {},
): Promise<Service> {
  // First, so that a bad DEFAULT_JOB_TYPE is refused before the store file is opened and locked.
  const types = createJobTypes(deps.types ?? [simulatedType(deps.processor ?? createSimulatedProcessor(config.work))], {
    defaultType: config.defaultJobType,
    maxRetries: Math.min(DEFAULT_MAX_RETRIES, config.maxRetriesLimit),
    maxRetriesLimit: config.maxRetriesLimit,
    timeoutMs: config.jobTimeoutMs,
    backoff: config.backoff,
  });
  /** Set once the metrics exist; a fenced write before then (none can happen before recovery) is only logged. */
  let countFencedWrite = () => {};
  const onFenced = (id: string) => {
    logger.warn({ job_id: id }, 'a write of this job changed nothing: another instance took it over (its lease ran out)');
    countFencedWrite();
  };
  let store: JobStore;
  try {
    store = deps.store ?? (await openStore(config, onFenced));
  } catch (error) {
    await types.close().catch(() => {});
    throw error;
  }
  try {
    return await run(config, logger, deps, store, types, (count) => (countFencedWrite = count));
  } catch (error) {
    await store.close().catch(() => {});
    await types.close().catch(() => {});
    throw error;
  }
}

async function run(
  config: Readonly<Config>,
  logger: Logger,
  deps: ServiceDeps,
  store: JobStore,
  types: JobTypes,
  onMetrics: (countFencedWrite: () => void) => void,
): Promise<Service> {
  const queue = createJobQueue(
    {
      workers: config.workers,
      queueSize: config.queueSize,
      backoff: config.backoff,
      jobTimeoutMs: config.jobTimeoutMs,
      jobRetention: config.jobRetention,
      expectedWorkMs: (config.work.minMs + config.work.maxMs) / 2,
      resultMaxBytes: config.resultMaxBytes,
      scheduledLimit: config.scheduledLimit,
      maxDelayMs: config.maxDelayMs,
    },
    {
      types,
      store,
      onError: (err, jobId) => logger.error({ err, job_id: jobId }, 'unhandled job error'),
    },
  );
  queue.on('transition', (transition) => logTransition(logger, transition));
  // Before the restore, so that the metrics count the attempts a restart interrupted.
  const storage = watchStorage(store, logger);
  const metrics = createMetrics(queue, storage);
  onMetrics(metrics.countFencedWrite);
  const restored = await queue.recover();
  // After the recovery: a fire missed while the service was down is caught up now, through the queue.
  const schedules = createSchedules({
    queue,
    store,
    onError: (err, schedule) => logger.error({ err, schedule }, 'schedule error'),
    onFire: (schedule) => metrics.countScheduleFire(schedule),
  });
  await schedules.restore();
  // Another instance on the same database changed the schedules: this one follows.
  store.shared?.watchSchedules(() => {
    schedules.sync().catch((err: unknown) => logger.error({ err }, 'schedule sync failed'));
  });

  const storeName = deps.store ? 'injected' : describeStore(config);
  let app: ReturnType<typeof createApp> | undefined;
  let server: Server | undefined;
  let address: AddressInfo | undefined;
  if (deps.listen !== false) {
    const onClientError = clientErrorLogger(logger);
    app = createApp({ queue, config, logger, metrics, schedules, onClientError, storage, rateLimiter: store.shared?.rateLimiter });
    server = createHttpServer(app.callback(), config.http, onClientError);
    await listen(server, config.port, config.host);
    address = server.address() as AddressInfo;
    logger.info(
      {
        address: formatAddress(address),
        host: address.address,
        port: address.port,
        store: storeName,
        types: types.names(),
        restored,
      },
      'listening',
    );
  } else {
    logger.info({ store: storeName, types: types.names(), restored }, 'started without HTTP');
  }

  let shutdown: Promise<ShutdownReport> | undefined;
  let forceStop: () => void = () => {};

  async function runShutdown(): Promise<ShutdownReport> {
    const forced = new Promise<'forced'>((resolve) => {
      forceStop = () => resolve('forced');
    });
    // First, so that requests still arriving on open connections see `draining` (or `pausing`). A durable
    // store keeps the jobs that wait, so only the running attempts are waited for.
    schedules.stop();
    if (store.durable) queue.pause();
    const drained = queue.drain(config.shutdownTimeoutMs);
    const stalled = store.durable ? whenWritesStall(queue, store) : undefined;
    const serverClosed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server?.closeIdleConnections();
    // Event streams never end by themselves; end them now rather than letting them hold the server open.
    if (app) closeEventStreams(app);
    logger.info(
      { timeout_ms: config.shutdownTimeoutMs },
      store.durable
        ? 'shutting down: stopped accepting connections, waiting for the running attempts'
        : 'shutting down: stopped accepting connections, draining the queue',
    );

    const outcome = await Promise.race(stalled ? [drained, forced, stalled.promise] : [drained, forced]);
    stalled?.stop();
    const wasForced = outcome === 'forced';
    const writesFailed = outcome === 'writes_failed';
    // A drain deadline of 0 aborts what is left at once; the first drain then settles with nothing left.
    const { unfinished } = wasForced || writesFailed ? await queue.drain(0) : outcome;

    let exitCode: 0 | 1 = wasForced || unfinished.length > 0 ? 1 : 0;
    if (store.durable) {
      const aborted = unfinished.filter(({ state }) => state === 'running');
      if (wasForced) logger.warn({ aborted: aborted.length }, 'second signal: stopped at once');
      else if (writesFailed) {
        logger.error(
          { aborted: aborted.length },
          'writes are failing and no attempt is running: stopped waiting for the attempts that wait for a write',
        );
      } else if (aborted.length > 0) {
        logger.warn({ aborted: aborted.length }, 'shutdown deadline passed: aborted the running attempts');
      } else logger.info('running attempts finished');
      for (const { id } of aborted) {
        if (writesFailed) {
          // Its `running` record waited for the same write: the job resumes as it was last written.
          logger.warn({ job_id: id }, 'attempt never started; the job resumes as last written at the next start');
        } else logger.warn({ job_id: id }, 'attempt aborted; the job resumes as interrupted at the next start');
      }
      logger.info(
        { waiting: unfinished.length - aborted.length },
        'queued and backoff jobs wait in the store for the next start',
      );
      exitCode = 0;
    } else {
      if (wasForced) logger.warn({ unfinished: unfinished.length }, 'second signal: stopped at once');
      else if (unfinished.length > 0) {
        logger.warn({ unfinished: unfinished.length }, 'shutdown deadline passed: aborted the unfinished jobs');
      } else logger.info('queue drained: every job finished');
      for (const { id, state } of unfinished) logger.warn({ job_id: id, state }, 'job left unfinished');
    }

    if (!wasForced) {
      server?.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, CONNECTION_GRACE_MS)));
      await Promise.race([serverClosed, grace, forced]);
      clearTimeout(timer);
    }
    server?.closeAllConnections();
    // Settles at once now that every connection is gone; a second signal does not wait even for that.
    await Promise.race([serverClosed, forced]);
    if (server) logger.info('server closed');
    // The processors' own resources (thread pools, keep-alive sockets), once no attempt can use them.
    await types.close().catch((err: unknown) => logger.error({ err }, 'job types: closing failed'));
    // Last, once no request can read it any more.
    try {
      await store.close();
      if (store.durable) logger.info('job store closed: every record written');
    } catch (err) {
      logger.error({ err }, 'job store: the final write failed');
      exitCode = 1;
    }
    return { unfinished, forced: wasForced, exitCode };
  }

  return {
    // Only `startEngine` (no HTTP) leaves it undefined, and its type does not show it.
    address: address!,
    queue,
    close() {
      if (shutdown) forceStop();
      else shutdown = runShutdown();
      return shutdown;
    },
  };
}

/**
 * A durable shutdown's early end: resolves once a write fails while no attempt's processor runs. The jobs still
 * `running` then all wait for that write before their processor can start, and the final write would fail the
 * same way, so waiting for them until SHUTDOWN_TIMEOUT_MS would only delay an exit with code 1. While a
 * processor runs, its attempt may still finish and the disk may have room again by then: the wait goes on.
 * Checked when the shutdown begins and whenever an attempt ends; `stop` ends the checks.
 */
function whenWritesStall(queue: JobQueue, store: JobStore): { promise: Promise<'writes_failed'>; stop(): void } {
  let stopped = false;
  let resolve!: (outcome: 'writes_failed') => void;
  const promise = new Promise<'writes_failed'>((settle) => (resolve = settle));
  const check = () => {
    if (stopped || queue.processorsRunning() > 0) return;
    store.flush().then(
      () => {},
      () => {
        if (!stopped && queue.processorsRunning() === 0) resolve('writes_failed');
      },
    );
  };
  const unsubscribe = queue.on('transition', (transition) => {
    if (transition.from === 'running') check();
  });
  check();
  return {
    promise,
    stop() {
      stopped = true;
      unsubscribe();
    },
  };
}

/** Submissions and final outcomes at info; every other transition at debug, so debug shows them all. */
function logTransition(logger: Logger, t: Transition) {
  const level = t.from === null || isFinished(t.to) ? 'info' : 'debug';
  // Every transition passes here: build no log object for a level that is off (LOG_LEVEL=warn in the bench).
  if (!logger.isLevelEnabled(level)) return;
  const fields = { job_id: t.id, attempts: t.attempt, from: t.from, to: t.to, event: t.event };
  if (t.from === null) logger.info(fields, 'job submitted');
  else if (isFinished(t.to)) logger.info({ ...fields, error: t.error }, `job ${t.to}`);
  else logger.debug({ ...fields, error: t.error, delay_ms: t.delay_ms }, 'job transition');
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function formatAddress({ address, port, family }: AddressInfo): string {
  return family === 'IPv6' ? `http://[${address}]:${port}` : `http://${address}:${port}`;
}
