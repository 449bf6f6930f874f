import { expect } from 'chai';
import { ServiceError } from '../../src/errors.js';
import type { JobRecord, JobState } from '../../src/engine/job-record.js';
import { COMPACT_QUEUED_BEYOND, createMemoryStore } from '../../src/store/memory-store.js';
import { rejection } from '../helpers/queue.js';

function record(id: string, state: JobState): JobRecord {
  return {
    id, type: 'simulated', state, payload: null, max_retries: 0, priority: 0, next_run_at: null, attempts: 0, last_error: null, created_at: 0,
    updated_at: 0, started_at: null, finished_at: null, next_retry_at: null, last_delay_ms: null,
    last_delay_source: null, result: null, result_error: null, result_bytes: null, attempts_at_retry: 0,
    cancel_requested: false, progress: null, history: [],
  };
}

const ids = (records: JobRecord[]) => records.map((r) => r.id);

/** A store whose `save` is told the state each record left, as the engine tells it. */
function storeWithRetention(retention: number) {
  const store = createMemoryStore({ retention });
  const states = new Map<string, JobState>();
  const save = (saved: JobRecord) => {
    store.save(saved, states.get(saved.id) ?? null);
    states.set(saved.id, saved.state);
  };
  return { store, save };
}

describe('memory store', () => {
  it('lists newest first, in pages linked by next_cursor', async () => {
    const { store, save } = storeWithRetention(100);
    for (let i = 1; i <= 5; i++) save(record(`j${i}`, 'queued'));
    const first = (await store.list({ limit: 2 }));
    expect(ids(first.jobs)).to.deep.equal(['j5', 'j4']);
    const second = (await store.list({ limit: 2, cursor: first.next_cursor! }));
    expect(ids(second.jobs)).to.deep.equal(['j3', 'j2']);
    const third = (await store.list({ limit: 2, cursor: second.next_cursor! }));
    expect(third).to.deep.equal({ jobs: [record('j1', 'queued')], next_cursor: null });
  });

  it('filters by state and keeps the submission order when a record changes', async () => {
    const { store, save } = storeWithRetention(100);
    for (let i = 1; i <= 4; i++) save(record(`j${i}`, 'queued'));
    save(record('j1', 'running'));
    save(record('j3', 'running'));
    expect(ids((await store.list({ limit: 10, state: 'running' })).jobs)).to.deep.equal(['j3', 'j1']);
    expect(ids((await store.list({ limit: 10 })).jobs)).to.deep.equal(['j4', 'j3', 'j2', 'j1']);
    expect((await store.counts())).to.deep.equal({ scheduled: 0, queued: 2, running: 2, backoff: 0, done: 0, failed: 0, cancelled: 0 });
  });

  it('evicts the oldest finished record beyond the retention, never an unfinished one', async () => {
    const { store, save } = storeWithRetention(2);
    save(record('old-unfinished', 'queued'));
    for (const id of ['a', 'b', 'c']) {
      save(record(id, 'running'));
      save(record(id, id === 'b' ? 'failed' : 'done'));
    }
    expect((await store.get('a'))).to.equal(undefined);
    expect(ids((await store.list({ limit: 10 })).jobs)).to.deep.equal(['c', 'b', 'old-unfinished']);
    expect((await store.counts())).to.deep.equal({ scheduled: 0, queued: 1, running: 0, backoff: 0, done: 1, failed: 1, cancelled: 0 });
  });

  it('keeps cursors valid across compaction after many evictions', async () => {
    const { store, save } = storeWithRetention(10);
    for (let i = 0; i < 5000; i++) save(record(`j${i}`, 'done'));
    const page = (await store.list({ limit: 4 }));
    expect(ids(page.jobs)).to.deep.equal(['j4999', 'j4998', 'j4997', 'j4996']);
    expect(ids((await store.list({ limit: 100, cursor: page.next_cursor! })).jobs)).to.deep.equal(
      ['j4995', 'j4994', 'j4993', 'j4992', 'j4991', 'j4990'],
    );
  });

  it('rejects a cursor it did not issue', async () => {
    const { store } = storeWithRetention(2);
    expect(await rejection(store.list({ limit: 1, cursor: 'abc' }))).to.be.instanceOf(ServiceError).and.have.property('message').that.includes('does not match');
  });

  it('counts cancelled records toward the retention too', async () => {
    const { store, save } = storeWithRetention(1);
    save(record('a', 'queued'));
    save(record('a', 'cancelled'));
    save(record('b', 'queued'));
    save(record('b', 'done'));
    expect(ids((await store.list({ limit: 10 })).jobs)).to.deep.equal(['b']);
    expect((await store.counts())).to.deep.equal({ scheduled: 0, queued: 0, running: 0, backoff: 0, done: 1, failed: 0, cancelled: 0 });
  });

  it('compacts the holes eviction leaves behind an old unfinished record, cursors still valid', async () => {
    const { store, save } = storeWithRetention(10);
    save(record('stuck', 'running'));
    for (let i = 0; i < 5000; i++) save(record(`j${i}`, 'done'));
    const page = (await store.list({ limit: 9 }));
    expect(ids(page.jobs)).to.deep.equal(['j4999', 'j4998', 'j4997', 'j4996', 'j4995', 'j4994', 'j4993', 'j4992', 'j4991']);
    expect(ids((await store.list({ limit: 5, cursor: page.next_cursor! })).jobs)).to.deep.equal(['j4990', 'stuck']);
    expect(ids((await store.unfinished()))).to.deep.equal(['stuck']);
  });

  it('evicts by the latest finish of a job that was retried', async () => {
    const { store, save } = storeWithRetention(2);
    save(record('x', 'queued'));
    save(record('x', 'failed'));
    save(record('a', 'done'));
    save(record('x', 'queued')); // an operator retry
    save(record('x', 'failed'));
    save(record('b', 'done'));
    expect(ids((await store.list({ limit: 10 })).jobs)).to.deep.equal(['b', 'x']);
  });

  describe('a job done at its first attempt', () => {
    /** The record the engine hands over for such a job: submitted at 1000, started at 1005, done at 1012. */
    function doneOnce(id: string): JobRecord {
      const step = (from: JobState | null, to: JobState, event: string, at: number, attempt: number) => ({
        id, type: 'simulated', from, to, event, at, attempt, error: null, delay_ms: null, delay_source: null,
      });
      return {
        id, type: 'simulated', state: 'done', payload: { n: 1 }, max_retries: 2, priority: 0, next_run_at: null, attempts: 1, attempts_at_retry: 0,
        last_error: null, created_at: 1000, updated_at: 1012, started_at: 1005, finished_at: 1012, next_retry_at: null,
        last_delay_ms: null, last_delay_source: null, result: null, result_error: null, result_bytes: null,
        cancel_requested: false, progress: null,
        history: [
          step(null, 'queued', 'SUBMIT', 1000, 0),
          step('queued', 'running', 'SLOT_GRANTED', 1005, 1),
          step('running', 'done', 'ATTEMPT_SUCCEEDED', 1012, 1),
        ],
      };
    }

    it('is kept in its compact form and read back as the very same record, by get and by list', async () => {
      const { store, save } = storeWithRetention(100);
      save(doneOnce('a'));
      expect((await store.get('a'))).to.deep.equal(doneOnce('a'));
      expect((await store.list({ limit: 10, state: 'done' }))).to.deep.equal({ jobs: [doneOnce('a')], next_cursor: null });
      expect((await store.list({ limit: 10, state: 'failed' }))).to.deep.equal({ jobs: [], next_cursor: null });
      expect((await store.counts())).to.deep.include({ done: 1 });
    });

    it('keeps a record whose history differs from the rebuilt one as it is', async () => {
      const { store, save } = storeWithRetention(100);
      const odd = doneOnce('b');
      odd.history[1]!.at = 1006; // started_at says 1005: the record is kept whole, history and all
      save(odd);
      expect((await store.get('b'))).to.equal(odd);
    });

    it('is evicted by the retention like any finished record', async () => {
      const { store, save } = storeWithRetention(1);
      save(doneOnce('a'));
      save(doneOnce('b'));
      expect([(await store.get('a')), (await store.get('b'))]).to.deep.equal([undefined, doneOnce('b')]);
      expect((await store.counts())).to.deep.include({ done: 1 });
    });
  });

  describe('a job waiting for its first attempt', () => {
    /** The record the engine hands over for a new job submitted at 1000. */
    function submitted(id: string): JobRecord {
      return {
        ...record(id, 'queued'),
        payload: { n: [1, 2] }, max_retries: 2, created_at: 1000, updated_at: 1000,
        history: [
          { id, type: 'simulated', from: null, to: 'queued', event: 'SUBMIT', at: 1000, attempt: 0, error: null, delay_ms: null, delay_source: null },
        ],
      };
    }

    /** A store whose queue is long enough for new waiting jobs to be kept compact. */
    async function backlogged() {
      const store = createMemoryStore({ retention: 100 });
      for (let i = 0; i < COMPACT_QUEUED_BEYOND; i++) await store.save(submitted(`before-${i}`), null, 'new');
      return store;
    }

    it('is kept compact in its lane once a backlog builds up, and read back, claimed and listed as the very same record', async () => {
      const store = await backlogged();
      const original = submitted('a');
      await store.save(original, null, 'new');
      const read = await store.get('a');
      expect(read).to.deep.equal(submitted('a'));
      expect(read).to.not.equal(original); // rebuilt: it was kept compact
      expect((await store.list({ limit: 1 })).jobs).to.deep.equal([submitted('a')]);
      expect((await store.unfinished()).at(-1)).to.deep.equal(submitted('a'));
      expect((await store.claim({ limit: COMPACT_QUEUED_BEYOND + 1 })).at(-1)).to.deep.equal(submitted('a'));
    });

    it('keeps the record itself while the queue is short: it is claimed within a moment', async () => {
      const store = createMemoryStore({ retention: 100 });
      const original = submitted('a');
      await store.save(original, null, 'new');
      expect(await store.get('a')).to.equal(original);
    });

    it('keeps a queued record that is not a fresh submission as it is (an operator retry, a cancel asked for)', async () => {
      const store = await backlogged();
      const retried = { ...submitted('r'), attempts: 1, attempts_at_retry: 1 };
      const touched = { ...submitted('t'), updated_at: 1001 };
      await store.save(retried, null, 'new');
      await store.save(touched, null, 'new');
      expect(await store.get('r')).to.equal(retried);
      expect(await store.get('t')).to.equal(touched);
    });
  });
});
