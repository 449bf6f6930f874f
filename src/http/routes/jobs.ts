import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Config } from '../../config.js';
import { DuplicateJobError, errors, ServiceError } from '../../errors.js';
import type { JobRecord } from '../../engine/job-record.js';
import type { JobQueue, ResolvedSubmission } from '../../engine/job-queue.types.js';
import { afterPendingSignals } from '../after-pending-signals.js';
import type { ErrorBody } from '../error-middleware.js';
import { jsonBody } from '../json-body.js';
import { submissionRateLimit } from '../rate-limit.js';
import { jsonEqual } from '../../json-equal.js';
import { jobView, requireJob, type JobView } from '../job-view.js';
import { batchReplySchema } from '../error-schemas.js';
import { jobPageSchema, jobViewSchema, queuedReplySchema } from '../response-schemas.js';
import { bodyRefusals, documentRoute, errorReply, jobIdParams, jobNotFound, jsonReply, retryAfterHeader, storageUnavailable, unavailableOrDraining } from '../route-docs.js';
import { batchSchema, listQuerySchema, MAX_BATCH_JOBS, submissionSchema, type Submission } from '../schemas.js';
import { validate } from '../validate.js';
import { searchJobs, type SearchQuery } from '../../console/job-search.js';
import type { SharedStore } from '../../store/job-store.js';

export interface JobRoutesDeps {
  queue: JobQueue;
  config: Readonly<Pick<Config, 'maxBodyBytes' | 'maxRetriesLimit' | 'http' | 'rateLimitPerS'>>;
  /** Told of each refused item of a batch (for the metrics); a refused single submission is thrown instead. */
  onBatchItemRefused?: (error: ServiceError) => void;
  /** Where the submission rate limit counts, when it is the cluster's; default, this process. */
  rateLimiter?: SharedStore['rateLimiter'];
}

/** How one submission was admitted; a refusal is thrown as a `ServiceError` instead. */
export type Admission =
  /** A new job: 202, `queued`, or `scheduled` for later. */
  | { status: 202; id: string; state: 'queued' | 'scheduled' }
  /** An identical resubmit of a known job (a client retrying after a lost response): 200, nothing created. */
  | { status: 200; id: string; existing: JobView };

/**
 * How many items of a batch are admitted between two yields to the event loop: about 1 ms of work here
 * (docs/performance.md, row 6).
 */
export const BATCH_RUN = 25;

/** One entry of a `POST /jobs/batch` response, in the order of the request's items. */
export interface BatchResult {
  /** The job's id: the one sent, or the generated one of an admitted job; null when none was sent or made. */
  id: string | null;
  status: number;
  /** The error object `POST /jobs` would have answered with, for a refused item. */
  error?: ErrorBody['error'];
}

/**
 * Decides one submission, the whole of what `POST /jobs` does between parsing the body and answering. Both
 * `POST /jobs` and every item of `POST /jobs/batch` go through here, so they cannot disagree.
 *
 * The refusals are thrown, in this order (the error precedence): 400 `validation_failed`, then the facade's own
 * order — 503 `shutting_down`, 409 `duplicate_job` (a different job under a known id), 429 `queue_full`.
 */
export async function submitOne(
  queue: JobQueue,
  schema: z.ZodType<Submission, unknown>,
  body: unknown,
): Promise<Admission> {
  const submission = validate(schema, body, 'body');
  let record: JobRecord;
  try {
    record = await queue.submit(submission);
  } catch (error) {
    if (!(error instanceof DuplicateJobError)) throw error;
    const existing = error.existing;
    if (!isSameSubmission(existing, error.submitted)) throw errors.duplicateJob(existing.id, jobView(existing));
    return { status: 200, id: existing.id, existing: jobView(existing) };
  }
  return { status: 202, id: record.id, state: record.state === 'scheduled' ? 'scheduled' : 'queued' };
}

/**
 * `POST /jobs` and `POST /enqueue` (one handler): 202 `{"status":"queued","id"}` with `Location`.
 * `POST /jobs/batch`: up to 1000 submissions in one body, each decided on its own (see `submitBatch`).
 * `GET /jobs/:id`: the job, or 404. `GET /jobs?state=&type=&limit=&cursor=`: a page, newest first; with
 * `id_prefix`, `created_after`, `created_before` or `last_error` a search (`console/job-search.ts`), whose
 * page may be short while `next_cursor` is not null.
 */
export function jobRoutes(router: Router, { queue, config, onBatchItemRefused, rateLimiter }: JobRoutesDeps): void {
  const schema = submissionSchema(config.maxRetriesLimit);

  // Error precedence: 415, 413 and invalid_json in `jsonBody`, then `submitOne`'s order.
  const submit = async (ctx: Context) => {
    const admission = await submitOne(queue, schema, ctx.request.body);
    ctx.status = admission.status;
    if (admission.status === 200) {
      ctx.body = admission.existing;
      return;
    }
    ctx.set('Location', `/jobs/${encodeURIComponent(admission.id)}`);
    ctx.body = { status: admission.state, id: admission.id };
  };

  /**
   * 200 `{"results":[{"id","status","error"?}]}` in the order of the items. The envelope is checked first
   * (400 `validation_failed` for more than 1000 items or `jobs` not an array), then the lifecycle: while
   * draining, the whole batch is a 503 `shutting_down`, as a single submission would be.
   *
   * Items are admitted in request order (a later item with an earlier item's id is its duplicate), each
   * submission started before the next, in runs of BATCH_RUN items: a durable store flushes a run at once
   * rather than once per item. Between two runs the handler yields to the event loop, so that a 1000-item
   * batch does not hold off timers (retries due, attempt timeouts) and other requests for its whole length;
   * an item admitted after a shutdown began in the meantime is refused with `shutting_down`.
   */
  const submitBatch = async (ctx: Context) => {
    const { jobs } = validate(batchSchema, ctx.request.body, 'body');
    if (queue.lifecycle() !== 'accepting') throw errors.shuttingDown();
    const results: Promise<BatchResult>[] = [];
    for (const [index, item] of jobs.entries()) {
      if (index > 0 && index % BATCH_RUN === 0) await new Promise((resolve) => setImmediate(resolve));
      results.push(
        submitOne(queue, schema, item).then(
          (admission): BatchResult => ({ id: admission.id, status: admission.status }),
          (error: unknown): BatchResult => {
            // Anything else is a bug, and fails the whole request as a 500 through the error middleware.
            if (!(error instanceof ServiceError)) throw error;
            onBatchItemRefused?.(error);
            const result: BatchResult = { id: sentId(item), status: error.status, error: errorObject(error) };
            return result;
          },
        ),
      );
    }
    ctx.status = 200;
    ctx.body = { results: await Promise.all(results) };
  };

  const parseBody = jsonBody(config.maxBodyBytes);
  const rateLimit = submissionRateLimit(config.rateLimitPerS, rateLimiter);
  const admit = rateLimit ? [parseBody, rateLimit] : [parseBody];
  // Each admission waits for the signals read in the same poll phase as its request (a SIGTERM goes first).
  documentRoute(router, 'POST /jobs/batch', {
    tag: 'jobs',
    summary: `Submit up to ${MAX_BATCH_JOBS} jobs; each is decided on its own.`,
    requestBody: { required: true, content: { 'application/json': { schema: batchSchema } } },
    responses: {
      '200': jsonReply('One result per item, in order: the status and error POST /jobs would have answered with.', batchReplySchema),
      '400': errorReply('`invalid_json`, or `validation_failed` for the envelope.', ['invalid_json', 'validation_failed']),
      ...bodyRefusals,
      '429': errorReply(
        '`rate_limited`: this client passed RATE_LIMIT_PER_S (each item counts).',
        ['rate_limited'],
        z.object({ 'Retry-After': retryAfterHeader }),
      ),
      '503': unavailableOrDraining,
    },
  });
  router.post('/jobs/batch', ...admit, afterPendingSignals, submitBatch);
  const submitDoc = (summary: string) => ({
    tag: 'jobs' as const,
    summary,
    requestBody: { required: true, content: { 'application/json': { schema } } },
    responses: {
      '200': jsonReply('An identical resubmit of a known job: nothing is created.', jobViewSchema),
      '202': jsonReply('Admitted.', queuedReplySchema, z.object({ Location: z.string().meta({ description: 'The job: /jobs/{id}.' }) })),
      '400': errorReply(
        '`invalid_json`; `validation_failed` with the messages of each field in `details`; `unknown_job_type` with ' +
          '`details.known_types`.',
        ['invalid_json', 'validation_failed', 'unknown_job_type'],
      ),
      '409': errorReply(
        '`duplicate_job`: the id is known with another type, payload, max_retries or priority; `details` is that job.',
        ['duplicate_job'],
      ),
      ...bodyRefusals,
      '429': errorReply(
        '`queue_full`: WORKERS + QUEUE_SIZE jobs are unfinished. `scheduled_full`: SCHEDULED_LIMIT jobs wait for ' +
          'their time already (`Retry-After`: until the next comes due). `rate_limited`: this client passed ' +
          'RATE_LIMIT_PER_S.',
        ['queue_full', 'scheduled_full', 'rate_limited'],
        z.object({ 'Retry-After': retryAfterHeader }),
      ),
      '503': unavailableOrDraining,
    },
  });
  documentRoute(router, 'POST /jobs', submitDoc('Submit a job.'));
  router.post('/jobs', ...admit, afterPendingSignals, submit);
  documentRoute(router, 'POST /enqueue', submitDoc("Submit a job (the original service's path)."));
  router.post('/enqueue', ...admit, afterPendingSignals, submit);

  documentRoute(router, 'GET /jobs', {
    tag: 'jobs',
    summary: 'List jobs, newest first.',
    requestParams: { query: listQuerySchema },
    responses: {
      '200': jsonReply('A page.', jobPageSchema),
      '400': errorReply(
        '`validation_failed`: a bad state, type, limit, cursor, include_payload, id_prefix, created_after, created_before ' +
          'or last_error.',
        ['validation_failed'],
      ),
      '503': storageUnavailable,
    },
  });
  router.get('/jobs', async (ctx) => {
    const { include_payload: includePayload, ...query } = validate(listQuerySchema, ctx.query, 'query');
    const { jobs, next_cursor } = await pageWithinBytes(queue, query, config.http.listMaxBytes, includePayload);
    ctx.type = 'application/json';
    ctx.body = `{"jobs":[${jobs.join(',')}],"next_cursor":${JSON.stringify(next_cursor)}}`;
  });

  documentRoute(router, 'GET /jobs/:id', {
    tag: 'jobs',
    summary: 'A job.',
    requestParams: { path: jobIdParams },
    responses: { '200': jsonReply('The job.', jobViewSchema), '404': jobNotFound, '503': storageUnavailable },
  });
  router.get('/jobs/:id', async (ctx) => {
    ctx.body = jobView(await requireJob(queue, ctx.params.id!));
  });
}

/**
 * A page of `GET /jobs` (the store's filters and the search's, `searchJobs`) as JSON texts, one per job, ending
 * early once the next job would take the page past `maxBytes` (LIST_MAX_BYTES): one listing of 1000 jobs of
 * 64 KB payloads would otherwise be a 65 MB body. A page always holds at least one job, so that paging moves on.
 * A shortened page's cursor is the store's own just before the first job left out (`cursorBefore`), so the next
 * page starts there, without searching from the start again.
 */
async function pageWithinBytes(
  queue: JobQueue,
  query: SearchQuery,
  maxBytes: number,
  includePayload: boolean,
): Promise<{ jobs: string[]; next_cursor: string | null }> {
  const show = (record: JobRecord) => {
    const view: Partial<JobView> = jobView(record);
    if (!includePayload) delete view.payload;
    return JSON.stringify(view);
  };
  const page = await searchJobs((listQuery) => queue.list(listQuery), query);
  const texts: string[] = [];
  let bytes = 0;
  for (const record of page.jobs) {
    const text = show(record);
    bytes += Buffer.byteLength(text) + 1;
    if (texts.length > 0 && bytes > maxBytes) break;
    texts.push(text);
  }
  if (texts.length === page.jobs.length) return { jobs: texts, next_cursor: page.next_cursor };
  return { jobs: texts, next_cursor: await page.cursorBefore(texts.length) };
}

/** Both sides have had their defaults applied, so a missing type or max_retries compares as its default. */
function isSameSubmission(existing: JobRecord, submitted: ResolvedSubmission): boolean {
  return (
    existing.type === submitted.type &&
    existing.max_retries === submitted.max_retries &&
    existing.priority === submitted.priority &&
    jsonEqual(existing.payload, submitted.payload)
  );
}

/** The id an item sent, when it sent a string one (even an invalid one, so the client can match it up). */
function sentId(item: unknown): string | null {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return null;
  const id = (item as Record<string, unknown>).id;
  return typeof id === 'string' ? id : null;
}

/** The same object the error middleware renders under `error`; `details` left out when there are none. */
function errorObject(error: ServiceError): ErrorBody['error'] {
  return error.details === undefined
    ? { code: error.code, message: error.message }
    : { code: error.code, message: error.message, details: error.details };
}
