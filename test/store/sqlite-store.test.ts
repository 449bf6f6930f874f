import { randomBytes } from 'node:crypto';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import sinon from 'sinon';
import { ServiceError, StoreOpenError } from '../../src/errors.js';
import { MIGRATIONS, RETENTION_BATCH } from '../../src/store/sqlite-store.js';
import { fillDisk, ids, nextTick, record, saver, tempFiles } from './support.js';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

function openError(open: () => unknown): StoreOpenError {
  try {
    open();
  } catch (error) {
    expect(error).to.be.instanceOf(StoreOpenError);
    return error as StoreOpenError;
  }
  return expect.fail('expected a StoreOpenError');
}

describe('sqlite store', () => {
  const files = tempFiles();
  afterEach(async () => {
    sinon.restore();
    await files.cleanup();
  });

  describe('records', () => {
    it('get sees a save at once, before its commit; flush commits it', async () => {
      const path = files.path();
      const store = files.open({ path });
      const save = saver(store);
      save(record('a', 'queued', { payload: { n: 1 } }));
      expect(await store.get('a')).to.deep.include({ state: 'queued', payload: { n: 1 } });
      expect(await store.get('nope')).to.equal(undefined);
      await store.flush();
      const rows = store.db.prepare('SELECT id, state FROM jobs').all();
      expect(rows).to.deep.equal([{ id: 'a', state: 'queued' }]);
    });

    it('lists newest first by submission, in pages linked by an opaque cursor, filtered by state', async () => {
      const store = files.open({ path: files.path() });
      const save = saver(store);
      for (let i = 1; i <= 5; i++) save(record(`j${i}`, 'queued'));
      save(record('j1', 'running'));
      save(record('j3', 'running'));
      const first = await store.list({ limit: 2 });
      expect(ids(first.jobs)).to.deep.equal(['j5', 'j4']);
      const second = await store.list({ limit: 2, cursor: first.next_cursor! });
      expect(ids(second.jobs)).to.deep.equal(['j3', 'j2']);
      expect(await store.list({ limit: 2, cursor: second.next_cursor! })).to.deep.equal({
        jobs: [record('j1', 'running')],
        next_cursor: null,
      });
      expect(ids((await store.list({ limit: 10, state: 'running' })).jobs)).to.deep.equal(['j3', 'j1']);
      expect(await store.list({ limit: 10, state: 'done' })).to.deep.equal({ jobs: [], next_cursor: null });
    });

    it('rejects a cursor it did not issue with validation_failed', async () => {
      const store = files.open({ path: files.path() });
      const error = await rejection(store.list({ limit: 1, cursor: 'abc' }));
      expect(error)
        .to.be.instanceOf(ServiceError)
        .that.deep.include({ code: 'validation_failed', details: { cursor: ['Not a cursor this server issued.'] } });
    });

    it('keeps the counts per state from the states the records left', async () => {
      const store = files.open({ path: files.path() });
      const save = saver(store);
      for (const id of ['a', 'b', 'c']) save(record(id, 'queued'));
      save(record('a', 'running'));
      save(record('a', 'done'));
      save(record('b', 'running'));
      expect(await store.counts()).to.deep.equal({ scheduled: 0, queued: 1, running: 1, backoff: 0, done: 1, failed: 0, cancelled: 0 });
    });

    it('gives the unfinished records back in submission order, not in the order they changed', async () => {
      const store = files.open({ path: files.path() });
      const save = saver(store);
      for (const id of ['a', 'b', 'c', 'd']) save(record(id, 'queued'));
      save(record('c', 'running'));
      save(record('a', 'backoff', { next_retry_at: 500 }));
      save(record('b', 'running'));
      save(record('b', 'done'));
      expect((await store.unfinished()).map((r) => [r.id, r.state])).to.deep.equal([
        ['a', 'backoff'], ['c', 'running'], ['d', 'queued'],
      ]);
    });

    it('after close and reopen has the same schedules, and the scheduled jobs by due time', async () => {
      const path = files.path();
      const first = files.open({ path });
      const schedule = {
        name: 'nightly', paused: true, last_fire_at: 5, last_job_id: 'sched:nightly:x',
        spec: { cron: '0 2 * * *', timezone: 'UTC', payload: null, priority: 0, overlap: 'skip' as const, catch_up: 'none' as const },
      };
      await first.saveSchedule(schedule);
      saver(first)(record('later', 'scheduled', { next_run_at: 900, priority: 4 }));
      await first.close();
      const second = files.open({ path });
      expect(await second.schedules()).to.deep.equal([schedule]);
      expect(await second.nextDueAt()).to.equal(900);
      expect(await second.takeDue(900, 10)).to.deep.equal([record('later', 'scheduled', { next_run_at: 900, priority: 4 })]);
    });

    it('after close and reopen has the same records, order, cursors and counts', async () => {
      const path = files.path();
      const first = files.open({ path });
      const save = saver(first);
      const history = [
        { id: 'a', type: 'simulated', from: null, to: 'queued' as const, event: 'SUBMIT', at: 1, attempt: 0, error: null,
          delay_ms: null, delay_source: null },
      ];
      save(record('a', 'queued', { payload: { deep: [1, 'two', null] }, history }));
      save(record('b', 'queued'));
      save(record('b', 'failed', { last_error: 'boom', attempts: 1 }));
      save(record('c', 'queued'));
      const before = { page: await first.list({ limit: 2 }), counts: await first.counts(), a: await first.get('a') };
      await first.close();

      const second = files.open({ path });
      expect(await second.list({ limit: 2 })).to.deep.equal(before.page);
      expect(ids((await second.list({ limit: 2, cursor: before.page.next_cursor! })).jobs)).to.deep.equal(['a']);
      expect(await second.counts()).to.deep.equal(before.counts);
      expect(await second.get('a')).to.deep.equal(before.a);
      expect(ids(await second.unfinished())).to.deep.equal(['a', 'c']);
      // New submissions keep the order after the restart.
      saver(second)(record('d', 'queued'));
      expect(ids((await second.list({ limit: 10 })).jobs)).to.deep.equal(['d', 'c', 'b', 'a']);
    });

    it('close writes what is still buffered', async () => {
      const path = files.path();
      const first = files.open({ path });
      saver(first)(record('a', 'queued'));
      await first.close();
      expect(await files.open({ path }).get('a')).to.deep.equal(record('a', 'queued'));
    });

    it('discard forgets a record never written, and deletes a written one at the next commit', async () => {
      const store = files.open({ path: files.path() });
      const save = saver(store);
      save(record('written', 'queued'));
      await store.flush();
      save(record('fresh', 'queued'));
      await store.discard!('fresh');
      await store.discard!('written');
      expect([await store.get('fresh'), await store.get('written')]).to.deep.equal([undefined, undefined]);
      expect((await store.counts()).queued).to.equal(0);
      await store.flush();
      expect(store.db.prepare('SELECT count(*) AS n FROM jobs').get()).to.deep.equal({ n: 0 });
    });
  });

  describe('ready lanes and claims', () => {
    /** A job of `type` queued by a submission, waiting in the lane of new jobs. */
    const queued = (id: string, type = 'simulated') => record(id, 'queued', { type });

    it('claims every retry before any new job, each lane first in, first out by the moment it became ready', async () => {
      const store = files.open({ path: files.path() });
      const save = saver(store);
      save(queued('n1'), 'new');
      save(record('r1', 'queued'), 'new');
      save(record('r2', 'queued'), 'new');
      save(record('r1', 'running'));
      save(record('r2', 'running'));
      save(queued('n2'), 'new');
      save(record('n0', 'queued'), 'new');
      save(record('n0', 'running'));
      save(record('n0', 'failed'));
      await store.flush(); // some of the lanes on disk, some in the buffer: one order all the same
      save(record('r1', 'backoff'));
      save(record('r2', 'backoff'));
      // r2's delay ends first, so it is ready first, though r1 was submitted first.
      save(record('r2', 'backoff'), 'retry');
      save(record('r1', 'backoff'), 'retry');
      save(record('n0', 'queued'), 'new'); // an operator's retry: at the end of the new lane, not at n0's old place
      save(queued('n3'), 'new');

      const first = await store.claim({ limit: 3 });
      expect(first).to.deep.equal([record('r2', 'backoff'), record('r1', 'backoff'), queued('n1')]);
      expect(ids(await store.claim({ limit: 10 }))).to.deep.equal(['n2', 'n0', 'n3']);
      expect(await store.claim({ limit: 10 })).to.deep.equal([]);
    });

    it('a save without a lane takes the job out of its lane, and a save into a lane puts it at the end', async () => {
      const store = files.open({ path: files.path() });
      const save = saver(store);
      for (const id of ['a', 'b', 'c', 'd']) save(queued(id), 'new');
      await store.flush();
      save(record('b', 'cancelled')); // cancelled while it waited
      save(queued('c')); // saved again in no lane
      save(queued('a'), 'new'); // ready again: behind d
      expect(ids(await store.claim({ limit: 10 }))).to.deep.equal(['d', 'a']);
      expect(ids(await store.unfinished())).to.deep.equal(['a', 'c', 'd']);
    });

    it('claims nothing from an empty store, nor from one whose jobs wait in no lane', async () => {
      const store = files.open({ path: files.path() });
      expect(await store.claim({ limit: 5 })).to.deep.equal([]);
      const save = saver(store);
      save(record('r', 'running'));
      save(record('b', 'backoff', { next_retry_at: 500 })); // still waiting out its delay
      save(record('d', 'done'));
      expect(await store.claim({ limit: 5 })).to.deep.equal([]);
      expect(await store.claim({ limit: 5, allowances: new Map([['simulated', 5]]) })).to.deep.equal([]);
    });

    it('never gives the same job to two claims, until it is saved into a lane again', async () => {
      const store = files.open({ path: files.path() });
      const save = saver(store);
      const all = Array.from({ length: 7 }, (_, i) => `j${i}`);
      for (const id of all) save(queued(id), 'new');
      const [one, two] = await Promise.all([store.claim({ limit: 3 }), store.claim({ limit: 3 })]);
      expect(ids(one)).to.deep.equal(['j0', 'j1', 'j2']);
      expect(ids(two)).to.deep.equal(['j3', 'j4', 'j5']);
      expect(ids(await store.claim({ limit: 3 }))).to.deep.equal(['j6']);
      expect(await store.claim({ limit: 3 })).to.deep.equal([]);
      // Claimed, and still queued: the engine has not saved it since. It is not claimed again...
      expect(await store.claim({ limit: 10 })).to.deep.equal([]);
      // ...until it is saved into a lane again (the claim could not start it).
      save(queued('j4'), 'new');
      expect(ids(await store.claim({ limit: 10 }))).to.deep.equal(['j4']);
      expect(await store.claim({ limit: 10 })).to.deep.equal([]);
    });

    it('skips a type with no allowance left and still claims the others, in claim order', async () => {
      const store = files.open({ path: files.path() });
      const save = saver(store);
      for (const [id, type] of [['a1', 'a'], ['b1', 'b'], ['b2', 'b'], ['c1', 'c'], ['a2', 'a'], ['c2', 'c'], ['b3', 'b']]) {
        save(queued(id!, type), 'new');
      }
      // a: none may start; b: one more; c: not limited by type, only by `limit`.
      const allowances = new Map([['a', 0], ['b', 1]]);
      const claimed = await store.claim({ limit: 10, allowances });
      expect(claimed.map((r) => [r.id, r.type])).to.deep.equal([['b1', 'b'], ['c1', 'c'], ['c2', 'c']]);
      // The allowances are the caller's: the map is left as it was given.
      expect([...allowances]).to.deep.equal([['a', 0], ['b', 1]]);
      // `limit` still bounds the types with an allowance left.
      expect(ids(await store.claim({ limit: 1, allowances: new Map([['a', 0], ['b', 5]]) }))).to.deep.equal(['b2']);
      // What was skipped waits at its place.
      expect(ids(await store.claim({ limit: 10 }))).to.deep.equal(['a1', 'a2', 'b3']);
    });

    it('at open, a queued job that was claimed and never started waits in its lane again, at its old place', async () => {
      const path = files.path();
      const first = files.open({ path });
      const save = saver(first);
      for (const id of ['q1', 'q2', 'q3']) save(queued(id), 'new');
      expect(ids(await first.claim({ limit: 2 }))).to.deep.equal(['q1', 'q2']);
      save(record('q2', 'running')); // q2 started; q1 was claimed, and the process died before it started
      await first.close();

      const second = files.open({ path });
      expect(second.db.prepare('SELECT id, ready_lane FROM jobs ORDER BY seq').all()).to.deep.equal([
        { id: 'q1', ready_lane: 1 },
        { id: 'q2', ready_lane: null },
        { id: 'q3', ready_lane: 1 },
      ]);
      expect(ids(await second.claim({ limit: 10 }))).to.deep.equal(['q1', 'q3']);
      // A job saved into a lane after the restart waits behind the ones from before it.
      saver(second)(queued('q4'), 'new');
      await second.close();
      const third = files.open({ path });
      expect(ids(await third.claim({ limit: 10 }))).to.deep.equal(['q1', 'q3', 'q4']);
    });

    it('at open, a backoff job is in no lane, even one whose delay had ended: the recovery re-arms it', async () => {
      const path = files.path();
      const first = files.open({ path });
      const save = saver(first);
      save(record('due', 'queued'), 'new');
      save(record('due', 'running'));
      save(record('due', 'backoff', { next_retry_at: 100 }));
      save(record('due', 'backoff', { next_retry_at: 100 }), 'retry'); // its delay ended; no slot was free
      save(record('waiting', 'queued'), 'new');
      save(record('waiting', 'running'));
      save(record('waiting', 'backoff', { next_retry_at: 900 }));
      save(queued('new'), 'new');
      await first.close();

      const second = files.open({ path });
      expect(second.db.prepare('SELECT id, state, ready_lane FROM jobs ORDER BY seq').all()).to.deep.equal([
        { id: 'due', state: 'backoff', ready_lane: null },
        { id: 'waiting', state: 'backoff', ready_lane: null },
        { id: 'new', state: 'queued', ready_lane: 1 },
      ]);
      expect(ids(await second.claim({ limit: 10 }))).to.deep.equal(['new']);
      expect((await second.unfinished()).map((r) => [r.id, r.state])).to.deep.equal([
        ['due', 'backoff'], ['waiting', 'backoff'], ['new', 'queued'],
      ]);
      // The recovery's save puts it back in the retry lane, ahead of new jobs.
      const again = saver(second);
      again(queued('later'), 'new');
      void second.save(record('due', 'backoff', { next_retry_at: 100 }), 'backoff', 'retry');
      expect(ids(await second.claim({ limit: 10 }))).to.deep.equal(['due', 'later']);
    });

    it('migrates queued jobs of a file from before the lanes into the new lane, in submission order', async () => {
      const path = files.path();
      const raw = new Database(path);
      for (const migration of MIGRATIONS.slice(0, 2)) migration(raw);
      raw.pragma('user_version = 2');
      const insert = raw.prepare('INSERT INTO jobs (seq, id, state, finished_seq, record, type) VALUES (?, ?, ?, NULL, ?, ?)');
      insert.run(1, 'q-old', 'queued', JSON.stringify(queued('q-old')), 'simulated');
      insert.run(2, 'b-old', 'backoff', JSON.stringify(record('b-old', 'backoff')), 'simulated');
      insert.run(3, 'q-new', 'queued', JSON.stringify(queued('q-new')), 'simulated');
      raw.close();

      const store = files.open({ path });
      expect(store.db.pragma('user_version', { simple: true })).to.equal(MIGRATIONS.length);
      saver(store)(queued('q-after'), 'new');
      expect(ids(await store.claim({ limit: 10 }))).to.deep.equal(['q-old', 'q-new', 'q-after']);
    });

    it('claims without a write of its own: while writes fail it still takes jobs, on file and buffered, once each', async () => {
      const store = files.open({ path: files.path() });
      const save = saver(store);
      save(queued('small'), 'new');
      await store.flush();
      fillDisk(store);
      save(record('big', 'queued', { payload: 'x'.repeat(20_000) }), 'new');
      expect(ids(await store.claim({ limit: 10 }))).to.deep.equal(['small', 'big']);
      expect(await store.claim({ limit: 10 })).to.deep.equal([]);
      expect(await rejection(store.flush())).to.be.instanceOf(ServiceError).with.property('code', 'storage_unavailable');
      // Once writes succeed, the claims are written with the rest: neither job waits in a lane on file.
      store.db.pragma('max_page_count = 1073741823');
      await store.flush();
      expect(store.db.prepare('SELECT id, ready_lane FROM jobs ORDER BY seq').all()).to.deep.equal([
        { id: 'small', ready_lane: null },
        { id: 'big', ready_lane: null },
      ]);
    });

    it('hands out the due jobs with one statement, past the ones handed out before', async () => {
      const store = files.open({ path: files.path() });
      const save = saver(store);
      for (const [id, at] of [['a', 100], ['b', 200], ['c', 300], ['d', 400], ['later', 900]] as const) {
        save(record(id, 'scheduled', { next_run_at: at }));
      }
      await store.flush();
      expect(ids(await store.takeDue(250, 1))).to.deep.equal(['a']);
      const statement = Object.getPrototypeOf(store.db.prepare('SELECT 1')) as Record<'get' | 'all' | 'iterate' | 'run', () => unknown>;
      const reads = (['get', 'all', 'iterate', 'run'] as const).map((method) => sinon.spy(statement, method));
      expect(ids(await store.takeDue(500, 2))).to.deep.equal(['b', 'c']);
      expect(reads.map((spy) => spy.callCount)).to.deep.equal([0, 1, 0, 0]);
    });
  });

  describe('group commit', () => {
    it('writes every save of a tick in one transaction, the latest record per job', async () => {
      const commits: number[] = [];
      const store = files.open({ path: files.path(), onCommit: (count) => commits.push(count) });
      const save = saver(store);
      for (let i = 0; i < 200; i++) save(record(`j${i}`, 'queued'));
      for (let i = 0; i < 200; i++) save(record(`j${i}`, 'running'));
      await Promise.all([store.flush(), store.flush()]);
      expect(commits).to.deep.equal([200]);
      expect(store.db.prepare(`SELECT count(*) AS n FROM jobs WHERE state = 'running'`).get()).to.deep.equal({ n: 200 });

      save(record('j0', 'done'));
      await store.flush();
      expect(commits).to.deep.equal([200, 1]);
    });

    it('commits once per tick even when nobody flushes, and flush with nothing buffered resolves at once', async () => {
      const commits: number[] = [];
      const store = files.open({ path: files.path(), onCommit: (count) => commits.push(count) });
      saver(store)(record('a', 'queued'));
      await nextTick();
      expect(commits).to.deep.equal([1]);
      await store.flush();
      expect(commits).to.deep.equal([1]);
    });
  });

  describe('retention', () => {
    it('deletes the oldest finished beyond the retention, in batches of RETENTION_BATCH per tick, never an unfinished one', async () => {
      const retention = 10;
      const total = 2 * RETENTION_BATCH + 100;
      const store = files.open({ path: files.path(), retention });
      const save = saver(store);
      save(record('waiting', 'queued'));
      for (let i = 0; i < total; i++) save(record(`j${i}`, i % 2 ? 'failed' : 'done'));
      await store.flush();
      const finished = async () => {
        const counts = await store.counts();
        return counts.done + counts.failed;
      };
      expect(await finished()).to.equal(total); // nothing deleted in the commit itself
      await nextTick();
      expect(await finished()).to.equal(total - RETENTION_BATCH);
      await nextTick();
      expect(await finished()).to.equal(total - 2 * RETENTION_BATCH);
      await nextTick();
      expect(await finished()).to.equal(retention);
      const left = (await store.list({ limit: 100 })).jobs;
      expect(ids(left)).to.deep.equal([...Array.from({ length: retention }, (_, i) => `j${total - 1 - i}`), 'waiting']);
      expect(store.db.prepare('SELECT count(*) AS n FROM jobs').get()).to.deep.equal({ n: retention + 1 });
    });

    it('deletes in the order jobs finished, not the order they were submitted', async () => {
      const store = files.open({ path: files.path(), retention: 1 });
      const save = saver(store);
      save(record('first', 'queued'));
      save(record('second', 'queued'));
      save(record('second', 'done'));
      save(record('first', 'done'));
      await store.flush();
      await nextTick();
      expect(ids((await store.list({ limit: 10 })).jobs)).to.deep.equal(['first']);
    });

    it('counts cancelled jobs toward the retention too', async () => {
      const store = files.open({ path: files.path(), retention: 1 });
      const save = saver(store);
      save(record('a', 'queued'));
      save(record('a', 'cancelled'));
      save(record('b', 'queued'));
      save(record('b', 'done'));
      await store.flush();
      await nextTick();
      expect(ids((await store.list({ limit: 10 })).jobs)).to.deep.equal(['b']);
    });
  });

  describe('schema', () => {
    it('migrates a database at user_version 0 to the latest version, keeping what else it holds', async () => {
      const path = files.path();
      const raw = new Database(path);
      raw.exec('CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES (\'kept\')');
      expect(raw.pragma('user_version', { simple: true })).to.equal(0);
      raw.close();

      const store = files.open({ path });
      expect(store.db.pragma('user_version', { simple: true })).to.equal(MIGRATIONS.length);
      expect(store.db.prepare('SELECT text FROM notes').get()).to.deep.equal({ text: 'kept' });
      expect(store.db.pragma('journal_mode', { simple: true })).to.equal('wal');
      saver(store)(record('a', 'queued'));
      expect(await store.get('a')).to.deep.equal(record('a', 'queued'));
    });

    it('refuses a database written by a newer schema version', () => {
      const path = files.path();
      const raw = new Database(path);
      raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
      raw.close();
      const error = openError(() => files.open({ path }));
      expect(error.message).to.include(path).and.include('newer than this build knows');
    });

    it('sets synchronous to NORMAL or FULL from the durability', () => {
      // PRAGMA synchronous reads 1 for NORMAL, 2 for FULL.
      expect(files.open({ path: files.path() }).db.pragma('synchronous', { simple: true })).to.equal(1);
      expect(files.open({ path: files.path(), durability: 'full' }).db.pragma('synchronous', { simple: true })).to.equal(2);
    });

    it('creates the directory of a new file', () => {
      const path = files.path('nested/deeper/jobs.db');
      saver(files.open({ path }))(record('a', 'queued'));
    });
  });

  describe('bad files', () => {
    it('a second opener of a file in use fails at once, naming the file', async () => {
      const path = files.path();
      const first = files.open({ path });
      const error = openError(() => files.open({ path }));
      expect(error.path).to.equal(path);
      expect(error.message).to.equal(
        `Cannot open the job store ${path}: another running instance holds its lock (SQLITE_BUSY). ` +
          'Stop that instance, or give this one another STORE file.',
      );
      await first.close();
      files.open({ path }); // the lock went with the first
    });

    it('the lock holds against a reader too, even with nothing written yet', () => {
      const path = files.path();
      files.open({ path });
      const reader = new Database(path, { timeout: 0, readonly: true });
      expect(() => reader.prepare('SELECT count(*) FROM jobs').get()).to.throw(/locked/);
      reader.close();
    });

    it('refuses a file of random bytes, and leaves it as it was', () => {
      const path = files.path();
      const bytes = randomBytes(64 * 1024);
      writeFileSync(path, bytes);
      const error = openError(() => files.open({ path }));
      expect(error.message).to.match(new RegExp(`^Cannot open the job store ${path}: the file is corrupt or not a SQLite database`));
      expect(readFileSync(path).equals(bytes)).to.equal(true);
    });

    it('refuses a truncated database', async () => {
      const path = files.path();
      const store = files.open({ path });
      const save = saver(store);
      for (let i = 0; i < 2000; i++) save(record(`j${i}`, 'done', { payload: 'x'.repeat(200) }));
      await store.close();
      truncateSync(path, Math.floor(readFileSync(path).length / 2));
      const error = openError(() => files.open({ path }));
      expect(error.message).to.include(path).and.match(/corrupt/);
    });
  });

  describe('a failed write', () => {
    it('rejects flush with storage_unavailable, keeps the records buffered, and writes them once it can', async () => {
      const path = files.path();
      const commits: number[] = [];
      const store = files.open({ path, onCommit: (count) => commits.push(count) });
      const save = saver(store);
      save(record('before', 'queued'));
      await store.flush();
      // A full disk: the file may not grow by a single page.
      const pages = store.db.pragma('page_count', { simple: true }) as number;
      store.db.pragma(`max_page_count = ${pages}`);
      for (let i = 0; i < 50; i++) save(record(`big${i}`, 'queued', { payload: 'x'.repeat(4000) }));

      const error = (await rejection(store.flush())) as ServiceError;
      expect(error).to.be.instanceOf(ServiceError);
      expect([error.status, error.code]).to.deep.equal([503, 'storage_unavailable']);
      expect(error.details).to.deep.equal({ reason: 'database or disk is full' });
      expect(await store.get('big7')).to.deep.include({ state: 'queued' });
      expect((await store.counts()).queued).to.equal(51);
      // Still failing: each flush tries again, and fails again.
      expect(((await rejection(store.flush())) as ServiceError).code).to.equal('storage_unavailable');
      expect(commits).to.deep.equal([1]);

      store.db.pragma('max_page_count = 1073741823');
      await store.flush();
      expect(commits).to.deep.equal([1, 50]);
      await store.close();
      const reopened = files.open({ path });
      expect((await reopened.counts()).queued).to.equal(51);
      expect(await reopened.get('big49')).to.deep.include({ state: 'queued' });
    });

    it('a list answers from the file while writes fail, each job as its buffered record shows it', async () => {
      const store = files.open({ path: files.path() });
      const save = saver(store);
      save(record('written', 'queued'));
      save(record('moved', 'queued'));
      await store.flush();
      fillDisk(store);
      save(record('big', 'queued', { payload: 'x'.repeat(20_000) }));
      save(record('moved', 'running'));
      // Not in the file yet: left out, but still found by id.
      expect(ids((await store.list({ limit: 10 })).jobs)).to.deep.equal(['moved', 'written']);
      expect((await store.list({ limit: 10 })).jobs[0]).to.deep.include({ state: 'running' });
      expect(ids((await store.list({ limit: 10, state: 'queued' })).jobs)).to.deep.equal(['written']);
      expect(await store.get('big')).to.deep.include({ state: 'queued' });
      store.db.pragma('max_page_count = 1073741823');
      expect(ids((await store.list({ limit: 10 })).jobs)).to.deep.equal(['big', 'moved', 'written']);
    });
  });
});
