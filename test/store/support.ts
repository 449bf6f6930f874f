/** What the SQLite store tests share: temp files that are removed after each test, and plain records. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type sinon from 'sinon';
import type { JobRecord, JobState } from '../../src/engine/job-record.js';
import type { JobStore, ReadyLane } from '../../src/store/job-store.js';
import { openSqliteStore, type SqliteStore, type SqliteStoreOptions } from '../../src/store/sqlite-store.js';

/** A temp directory per test; `cleanup()` closes the stores opened through it and deletes it. */
export function tempFiles() {
  const dirs: string[] = [];
  const stores: SqliteStore[] = [];
  return {
    /** A fresh path for a database file, in a directory of its own. */
    path(name = 'jobs.db'): string {
      const dir = mkdtempSync(join(tmpdir(), 'sqlite-store-test-'));
      dirs.push(dir);
      return join(dir, name);
    },
    open(options: Partial<SqliteStoreOptions> & { path: string }): SqliteStore {
      const store = openSqliteStore({ retention: 10_000, ...options });
      stores.push(store);
      return store;
    },
    async cleanup() {
      for (const store of stores.splice(0)) await store.close().catch(() => {});
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function record(id: string, state: JobState, extra: Partial<JobRecord> = {}): JobRecord {
  return {
    id, type: 'simulated', state, payload: null, max_retries: 0, priority: 0, next_run_at: null, attempts: 0, attempts_at_retry: 0, last_error: null,
    created_at: 0, updated_at: 0, started_at: null, finished_at: null, next_retry_at: null, last_delay_ms: null,
    last_delay_source: null, result: null, result_error: null, result_bytes: null, cancel_requested: false,
    progress: null, history: [], ...extra,
  };
}

/**
 * Saves as the engine does: telling the store the state each record left, and, with `ready`, the lane the job
 * waits in for a claim (without it the job is in no lane). The write is taken at once; `flush` makes it durable.
 */
export function saver(store: JobStore) {
  const states = new Map<string, JobState>();
  return (saved: JobRecord, ready?: ReadyLane) => {
    void store.save(saved, states.get(saved.id) ?? null, ready);
    states.set(saved.id, saved.state);
  };
}

export const ids = (records: JobRecord[]) => records.map((r) => r.id);

/** Resolves after the tasks already queued for the check phase (the store's commit and retention ticks). */
export const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Lets the store commit (a real setImmediate) and the attempts gated on it start, on a fake clock. */
export async function settle(clock: sinon.SinonFakeTimers) {
  await nextTick();
  await clock.tickAsync(0);
}

/** A full disk: the file may not grow by a single page. */
export function fillDisk(store: SqliteStore) {
  store.db.pragma(`max_page_count = ${store.db.pragma('page_count', { simple: true }) as number}`);
}
