import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Config } from '../../config.js';
import { DuplicateJobError, errors } from '../../errors.js';
import type { JobRecord } from '../../job-record.js';
import type { JobQueue } from '../../job-queue.types.js';
import { jsonBody } from '../json-body.js';
import { jsonEqual } from '../json-equal.js';
import { jobView } from '../job-view.js';
import { listQuerySchema, submissionSchema, type Submission } from '../schemas.js';
import { validate } from '../validate.js';

export interface JobRoutesDeps {
  queue: JobQueue;
  config: Readonly<Pick<Config, 'maxBodyBytes' | 'maxRetriesLimit'>>;
}

/**
 * `POST /jobs` and `POST /enqueue` (one handler): 202 `{"status":"queued","id"}` with `Location`.
 * `GET /jobs/:id`: the job, or 404. `GET /jobs?state=&limit=&cursor=`: a page, newest first.
 */
export function jobRoutes(router: Router, { queue, config }: JobRoutesDeps): void {
  const schema = submissionSchema(config.maxRetriesLimit);

  // Error precedence follows from the order of the steps: 415, 413 and invalid_json in `jsonBody`, then
  // validation_failed, then the facade's own order: shutting_down, duplicate (200/409), queue_full.
  const submit = async (ctx: Context) => {
    const submission = validate(schema, ctx.request.body, 'body');
    let record: JobRecord;
    try {
      record = await queue.submit(submission);
    } catch (error) {
      if (!(error instanceof DuplicateJobError)) throw error;
      const existing = error.existing;
      if (!isSameSubmission(existing, submission)) throw errors.duplicateJob(existing.id, jobView(existing));
      // An identical resubmit (a client retrying after a lost response) succeeds without creating anything.
      ctx.status = 200;
      ctx.body = jobView(existing);
      return;
    }
    ctx.status = 202;
    ctx.set('Location', `/jobs/${encodeURIComponent(record.id)}`);
    ctx.body = { status: 'queued', id: record.id };
  };
  const parseBody = jsonBody(config.maxBodyBytes);
  router.post('/jobs', parseBody, submit);
  router.post('/enqueue', parseBody, submit);

  router.get('/jobs', (ctx) => {
    const page = queue.list(validate(listQuerySchema, ctx.query, 'query'));
    ctx.body = { jobs: page.jobs.map(jobView), next_cursor: page.next_cursor };
  });

  router.get('/jobs/:id', (ctx) => {
    const id = ctx.params.id!;
    const record = queue.get(id);
    if (!record) throw errors.jobNotFound(id);
    ctx.body = jobView(record);
  });
}

/** Both sides have had their defaults applied, so a missing max_retries compares as the default. */
function isSameSubmission(existing: JobRecord, submission: Submission): boolean {
  return existing.max_retries === submission.max_retries && jsonEqual(existing.payload, submission.payload);
}
