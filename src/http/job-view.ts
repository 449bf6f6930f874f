import type { z } from 'zod';
import { errors } from '../errors.js';
import type { JobRecord } from '../engine/job-record.js';
import type { JobQueue } from '../engine/job-queue.types.js';
import type { jobViewSchema } from './response-schemas.js';

/**
 * A job as the API shows it: the record without its history, with ISO-8601 UTC times (null where unset). Its
 * shape is `jobViewSchema`, which the OpenAPI document publishes.
 *
 * `cancel_requested: true` appears only while a cancel waits for the running attempt to stop (state `running`),
 * so that a client polling after a 202 from `POST /jobs/:id/cancel` sees why the job is still running. Every
 * other view keeps the documented fields exactly.
 */
export type JobView = z.output<typeof jobViewSchema>;

export const iso = (epochMs: number) => new Date(epochMs).toISOString();
export const isoOrNull = (epochMs: number | null) => (epochMs === null ? null : iso(epochMs));

/** The job a `/jobs/:id…` route names, or a 404 `not_found`. */
export async function requireJob(queue: JobQueue, id: string): Promise<JobRecord> {
  const record = await queue.get(id);
  if (!record) throw errors.jobNotFound(id);
  return record;
}

export function jobView(record: JobRecord): JobView {
  const view: JobView = {
    id: record.id,
    type: record.type,
    state: record.state,
    payload: record.payload,
    max_retries: record.max_retries,
    priority: record.priority,
    next_run_at: isoOrNull(record.next_run_at),
    attempts: record.attempts,
    last_error: record.last_error,
    result: record.result,
    result_error: record.result_error,
    result_bytes: record.result_bytes,
    progress: record.progress,
    created_at: iso(record.created_at),
    updated_at: iso(record.updated_at),
    started_at: isoOrNull(record.started_at),
    finished_at: isoOrNull(record.finished_at),
    next_retry_at: isoOrNull(record.next_retry_at),
  };
  if (record.cancel_requested) view.cancel_requested = true;
  return view;
}
