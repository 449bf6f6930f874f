/**
 * The service as a library: `import { createJobService } from 'xstate-job-service'`. The same engine, store
 * and (optionally) HTTP API as the standalone service, with job types defined in code.
 *
 *   const jobs = await createJobService({
 *     types: { email: { handler: async (payload: { to: string }, ctx) => send(payload.to, ctx.signal) } },
 *   });
 *   await jobs.submit('email', { to: 'ada@example.com' });   // the payload's type comes from the handler
 *   await jobs.close();
 */
import { loadConfig, type Config } from './config.js';
import type { JobRecord } from './engine/job-record.js';
import type { JobQueueEventMap } from './engine/job-queue.types.js';
import { handlerProcessor } from './job-types/handler-processor.js';
import { jobTypeNameSchema, jobTypeOptionsSchema, type JobTypeDefinition, type JobTypeOptions } from './job-types/job-type.js';
import type { TaskContext } from './job-types/task-handler.js';
import { createLogger } from './logger.js';
import { startEngine, startService, type ShutdownReport } from './server.js';

export { PermanentError, RetryLaterError, ServiceError, JobTypesError } from './errors.js';
export type { JobRecord, JobState, Transition } from './engine/job-record.js';
export type { ProgressEvent } from './engine/job-queue.types.js';
export type { JobTypeOptions } from './job-types/job-type.js';
export type { TaskContext, TaskHandler } from './job-types/task-handler.js';
export type { ShutdownReport } from './server.js';

/** A job type defined in code: its handler, and optionally its options (as a task module's `options`). */
export interface TaskDefinition<Payload = never, Result = unknown> {
  /** Runs one attempt. Its resolved value becomes the job's `result`; a throw fails the attempt. */
  handler(payload: Payload, ctx: TaskContext): Result | Promise<Result>;
  options?: JobTypeOptions;
}

// `any` here is what lets each handler's own payload type be inferred; `submit` then checks against it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyTasks = Record<string, TaskDefinition<any, unknown>>;

/** The payload type a definition's handler takes. */
export type PayloadOf<D> = D extends TaskDefinition<infer Payload, unknown> ? Payload : never;

export interface JobServiceOptions<Tasks extends AnyTasks> {
  /** The job types, by name (1–64 characters, `^[a-z0-9][a-z0-9._-]*$`). */
  types: Tasks;
  /** Serve the HTTP API too (`POST /jobs`, `/debug`, …). Default: no HTTP. */
  http?: { /** Default 8080; 0 picks a free port. */ port?: number; /** Default 127.0.0.1. */ host?: string };
  /** `memory` (default: nothing survives the process) or `sqlite:<path>`. */
  store?: string;
  /** The type of a job submitted without one. Default: the first of `types`. */
  defaultType?: keyof Tasks & string;
  /**
   * Any other setting, as the service's environment variables name them (`WORKERS`, `QUEUE_SIZE`,
   * `JOB_TIMEOUT_MS`, `LOG_LEVEL`, …; see the README's table). The process's own environment is not read.
   * Default LOG_LEVEL here: `warn`.
   */
  settings?: Record<string, string>;
}

export interface SubmitOptions {
  /** Generated (a UUIDv7) when missing. A known id with the same type and payload returns the existing job. */
  id?: string;
  /** Retries after the first attempt. Default: the type's, else 3. */
  max_retries?: number;
}

export interface JobService<Tasks extends AnyTasks> {
  /** Where the HTTP API listens, when `http` was given: `http://127.0.0.1:8080`. */
  readonly url: string | null;
  /**
   * Submits a job of `type`, with a payload of the type its handler takes. Rejects with a `ServiceError`
   * (`queue_full`, `shutting_down`, `duplicate_job` for a known id with another type or payload).
   */
  submit<Type extends keyof Tasks & string>(type: Type, payload: PayloadOf<Tasks[Type]>, options?: SubmitOptions): Promise<JobRecord>;
  get(id: string): Promise<JobRecord | undefined>;
  /** Cancels a queued, backoff or running job (a running one's signal aborts; waits up to 1 s for it). */
  cancel(id: string): Promise<JobRecord>;
  /** Queues a failed or cancelled job again. */
  retry(id: string): Promise<JobRecord>;
  /** Subscribes to `transition` or `progress` events; returns the unsubscribe function. */
  on<Event extends keyof JobQueueEventMap>(event: Event, listener: (payload: JobQueueEventMap[Event]) => void): () => void;
  /**
   * Resolves once the job is done, failed or cancelled, with its record. Rejects when the job is unknown, or when
   * `close()` leaves it unfinished.
   */
  settled(id: string): Promise<JobRecord>;
  /** The graceful shutdown of the standalone service: running attempts finish (up to SHUTDOWN_TIMEOUT_MS). */
  close(): Promise<ShutdownReport>;
}

export async function createJobService<const Tasks extends AnyTasks>(
  options: JobServiceOptions<Tasks>,
): Promise<JobService<Tasks>> {
  const names = Object.keys(options.types);
  const config: Readonly<Config> = loadConfig({
    LOG_LEVEL: 'warn',
    STORE: options.store ?? 'memory',
    DEFAULT_JOB_TYPE: options.defaultType ?? names[0] ?? 'simulated',
    HOST: options.http?.host ?? '127.0.0.1',
    PORT: String(options.http?.port ?? 8080),
    ...options.settings,
  });
  const logger = createLogger(config.logLevel, undefined, config.logPayloads);
  const definitions: JobTypeDefinition[] = names.map((name) => {
    jobTypeNameSchema.parse(name);
    const { handler, options: own } = options.types[name]!;
    return {
      name,
      kind: 'module',
      options: jobTypeOptionsSchema.parse(own ?? {}),
      processor: handlerProcessor(handler as (payload: unknown, ctx: TaskContext) => unknown, logger),
      source: 'code',
    };
  });

  const service = options.http
    ? await startService(config, logger, { types: definitions })
    : { ...(await startEngine(config, logger, { types: definitions })), address: null };
  const { queue } = service;
  const url = service.address ? `http://${service.address.address}:${service.address.port}` : null;
  /** The `settled` calls still waiting, told when the service closes. */
  const waiting = new Set<() => void>();

  return {
    url,
    submit: (type, payload, submitOptions = {}) => queue.submit({ ...submitOptions, type, payload }),
    get: (id) => queue.get(id),
    cancel: (id) => queue.cancel(id),
    retry: (id) => queue.retry(id),
    on: (event, listener) => queue.on(event, listener),
    settled(id) {
      return new Promise((resolve, reject) => {
        const done = (settle: () => void) => {
          off();
          waiting.delete(onClose);
          settle();
        };
        const onClose = () => done(() => reject(new Error(`the service closed before job ${JSON.stringify(id)} settled`)));
        const check = () => {
          void queue.get(id).then((record) => {
            if (!record) done(() => reject(new Error(`no job ${JSON.stringify(id)}`)));
            else if (record.state === 'done' || record.state === 'failed' || record.state === 'cancelled') {
              done(() => resolve(record));
            }
          });
        };
        const off = queue.on('transition', (t) => {
          if (t.id === id) check();
        });
        waiting.add(onClose);
        check();
      });
    },
    async close() {
      const report = await service.close();
      // Jobs left unfinished by the shutdown make no further transition: their waiters hear it here.
      for (const onClose of [...waiting]) onClose();
      return report;
    },
  };
}
