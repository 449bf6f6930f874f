import type { JobRecord, JobState } from '../job-record.js';

/** A job as the API shows it: the record without its history, with ISO-8601 UTC times (null where unset). */
export interface JobView {
  id: string;
  state: JobState;
  payload: unknown;
  max_retries: number;
  attempts: number;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  next_retry_at: string | null;
}

const iso = (epochMs: number) => new Date(epochMs).toISOString();
const isoOrNull = (epochMs: number | null) => (epochMs === null ? null : iso(epochMs));

export function jobView(record: JobRecord): JobView {
  return {
    id: record.id,
    state: record.state,
    payload: record.payload,
    max_retries: record.max_retries,
    attempts: record.attempts,
    last_error: record.last_error,
    created_at: iso(record.created_at),
    updated_at: iso(record.updated_at),
    started_at: isoOrNull(record.started_at),
    finished_at: isoOrNull(record.finished_at),
    next_retry_at: isoOrNull(record.next_retry_at),
  };
}
