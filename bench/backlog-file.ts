/**
 * A SQLite store file holding `count` jobs scheduled for `runAt` (epoch ms), written straight into the table as
 * `count` submissions with that `run_at` would have left them: no lane, `run_at` set. What the scheduled-jobs
 * process test starts a service over.
 */
export function writeScheduledJobs(path: string, count: number, runAt: number): void {
  void openSqliteStore({ path, retention: 10 }).close();
  const db = new Database(path);
  const insert = db.prepare(
    `INSERT INTO jobs (seq, id, state, finished_seq, record, type, ready_lane, ready_seq, priority, run_at)
     VALUES (?, ?, 'scheduled', NULL, ?, 'simulated', NULL, NULL, 0, ?)`,
  );
  db.transaction(() => {
    for (let seq = 1; seq <= count; seq++) {
      const id = `later-${seq}`;
      const submitted = { id, type: 'simulated', from: null, to: 'scheduled', event: 'SUBMIT', at: seq, attempt: 0, error: null, delay_ms: null, delay_source: null };
      const record = JSON.stringify({
        id, type: 'simulated', payload: { n: seq }, max_retries: 0, priority: 0, next_run_at: runAt, attempts: 0,
        attempts_at_retry: 0, last_error: null, created_at: seq, updated_at: seq, started_at: null, finished_at: null,
        next_retry_at: null, last_delay_ms: null, last_delay_source: null, result: null, result_error: null,
        result_bytes: null, cancel_requested: false, state: 'scheduled', progress: null, history: [submitted],
      });
      insert.run(seq, id, record, runAt);
    }
  })();
  db.close();
}

/**
 * A SQLite store file holding `count` queued jobs, written straight into the table as `count` submissions
 * would have left it (each in the lane of new jobs, in submission order): what row 4d and the backlog process
 * test start a service over, in seconds rather than the minutes a million submissions take.
 */
import Database from 'better-sqlite3';
import { openSqliteStore } from '../src/store/sqlite-store.js';

export function writeQueuedJobs(path: string, count: number): void {
  // Creates the file with the current schema, then lets go of it.
  void openSqliteStore({ path, retention: 10 }).close();
  const db = new Database(path);
  const insert = db.prepare(
    `INSERT INTO jobs (seq, id, state, finished_seq, record, type, ready_lane, ready_seq)
     VALUES (?, ?, 'queued', NULL, ?, 'simulated', 1, ?)`,
  );
  db.transaction(() => {
    for (let seq = 1; seq <= count; seq++) {
      const id = `job-${seq}`;
      const submitted = { id, type: 'simulated', from: null, to: 'queued', event: 'SUBMIT', at: seq, attempt: 0, error: null, delay_ms: null, delay_source: null };
      const record = JSON.stringify({
        id, type: 'simulated', payload: { n: seq }, max_retries: 0, attempts: 0, attempts_at_retry: 0, last_error: null,
        created_at: seq, updated_at: seq, started_at: null, finished_at: null, next_retry_at: null, last_delay_ms: null,
        last_delay_source: null, result: null, result_error: null, result_bytes: null, cancel_requested: false,
        state: 'queued', progress: null, history: [submitted],
      });
      insert.run(seq, id, record, seq);
    }
  })();
  db.close();
}
