/**
 * Job types on the SQLite store: result and progress survive a restart; a file written before job types
 * (schema version 1) opens with its jobs as `simulated`; counts and lists by type come from the file.
 */
import { expect } from 'chai';
import Database from 'better-sqlite3';
import { createJobQueue } from '../../src/engine/job-queue.js';
import { createJobTypes } from '../../src/job-types/registry.js';
import type { Processor, ProcessorContext } from '../../src/processors/processor.js';
import { MIGRATIONS, type SqliteStore } from '../../src/store/sqlite-store.js';
import { nextTick, tempFiles } from './support.js';

const backoff = { baseMs: 100, maxMs: 1000, jitterMs: 0 };

function queueOn(store: SqliteStore, processor: Processor) {
  const types = createJobTypes(
    [
      { name: 'report', kind: 'module', options: {}, processor, source: 'report.ts' },
      { name: 'other', kind: 'module', options: {}, processor, source: 'other.ts' },
    ],
    { defaultType: 'report', maxRetries: 3, maxRetriesLimit: 20, timeoutMs: 0, backoff },
  );
  return createJobQueue({ workers: 2, queueSize: 10, backoff, jobTimeoutMs: 0, jobRetention: 100 }, { types, store });
}

/** Waits for the store's commit and the attempts gated on it (real setImmediate ticks). */
async function settle() {
  for (let i = 0; i < 5; i++) await nextTick();
}

describe('job types on the sqlite store', () => {
  const files = tempFiles();
  afterEach(() => files.cleanup());

  it("keeps a done job's result, and a running job's progress, across a restart", async () => {
    const path = files.path();
    const first = files.open({ path });
    const contexts = new Map<string, { ctx: ProcessorContext; finish(value: unknown): void }>();
    const processor: Processor = (job, ctx) => new Promise((resolve) => contexts.set(job.id, { ctx, finish: resolve }));
    const queue = queueOn(first, processor);
    await queue.submit({ id: 'done-1', payload: null });
    await queue.submit({ id: 'busy-1', type: 'other', payload: null });
    await settle();
    contexts.get('done-1')!.finish({ pages: 12 });
    contexts.get('busy-1')!.ctx.progress({ page: 5 });
    await settle();
    queue.pause();
    await first.close();

    const second = files.open({ path });
    expect(await second.get('done-1')).to.deep.include({ type: 'report', state: 'done', result: { pages: 12 }, result_bytes: 12 });
    expect(await second.get('busy-1')).to.deep.include({ type: 'other', state: 'running', progress: { page: 5 } });
    expect(await second.countsByType()).to.deep.equal({
      report: { scheduled: 0, queued: 0, running: 0, backoff: 0, done: 1, failed: 0, cancelled: 0 },
      other: { scheduled: 0, queued: 0, running: 1, backoff: 0, done: 0, failed: 0, cancelled: 0 },
    });
    expect((await second.list({ type: 'other', limit: 10 })).jobs.map((job) => job.id)).to.deep.equal(['busy-1']);
  });

  it('opens a file written before job types, its jobs of the type simulated', async () => {
    const path = files.path();
    const old = new Database(path);
    old.exec(`
      CREATE TABLE jobs (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, state TEXT NOT NULL, finished_seq INTEGER,
        record TEXT NOT NULL);
      CREATE INDEX jobs_by_state ON jobs (state, seq);
      CREATE INDEX jobs_by_finish ON jobs (finished_seq) WHERE finished_seq IS NOT NULL;
      PRAGMA user_version = 1;
    `);
    const record = {
      id: 'old-1', payload: 'x', max_retries: 3, attempts: 1, attempts_at_retry: 0, last_error: 'boom', created_at: 1,
      updated_at: 2, started_at: 1, finished_at: null, next_retry_at: 150, last_delay_ms: 148, cancel_requested: false,
      state: 'backoff',
      history: [{ id: 'old-1', from: 'running', to: 'backoff', event: 'ATTEMPT_FAILED', at: 2, attempt: 1, error: 'boom', delay_ms: 148 }],
    };
    old.prepare('INSERT INTO jobs (seq, id, state, finished_seq, record) VALUES (1, ?, ?, NULL, ?)').run('old-1', 'backoff', JSON.stringify(record));
    old.close();

    const store = files.open({ path });
    expect(store.db.pragma('user_version', { simple: true })).to.equal(MIGRATIONS.length);
    expect(await store.get('old-1')).to.deep.equal({
      ...record,
      type: 'simulated', priority: 0, next_run_at: null, last_delay_source: 'backoff', result: null, result_error: null, result_bytes: null, progress: null,
      history: [{ ...record.history[0], type: 'simulated', delay_source: 'backoff' }],
    });
    expect(await store.countsByType()).to.deep.equal({ simulated: { scheduled: 0, queued: 0, running: 0, backoff: 1, done: 0, failed: 0, cancelled: 0 } });
    expect((await store.unfinished()).map((r) => r.type)).to.deep.equal(['simulated']);
  });
});
