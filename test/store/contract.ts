/**
 * The store contract: what every `JobStore` implementation must do, as the engine relies on it. Each store
 * runs the same suite (contract.test.ts); a store on another database plugs in with an `open` of its own.
 */
import { expect } from 'chai';
import type { JobState } from '../../src/engine/job-record.js';
import { ServiceError } from '../../src/errors.js';
import type { JobStore } from '../../src/store/job-store.js';
import type { ScheduleRow } from '../../src/engine/schedule-fields.js';
import { rejection } from '../helpers/queue.js';
import { ids, record, saver } from './support.js';

export interface ContractSubject {
  /** A new, empty store that keeps `retention` finished records. */
  open(retention: number): Promise<JobStore>;
  /** Lets the store finish its background work (a durable store's commit and retention). */
  settle(store: JobStore): Promise<void>;
  /** Closes and removes every store opened. */
  cleanup(): Promise<void>;
}

const zero = { scheduled: 0, queued: 0, running: 0, backoff: 0, done: 0, failed: 0, cancelled: 0 };

export function storeContract(name: string, subject: ContractSubject) {
  describe(`store contract: ${name}`, () => {
    afterEach(() => subject.cleanup());

    const open = async (retention = 1000) => {
      const store = await subject.open(retention);
      return { store, save: saver(store) };
    };

    describe('claim', () => {
      it('claims nothing from an empty store', async () => {
        const { store } = await open();
        expect(await store.claim({ limit: 5 })).to.deep.equal([]);
      });

      it('claims every due retry first, then the new jobs, each lane first in, first out', async () => {
        const { store, save } = await open();
        save(record('n1', 'queued'), 'new');
        save(record('n2', 'queued'), 'new');
        save(record('r1', 'backoff', { attempts: 1, next_retry_at: 5 }), 'retry');
        save(record('n3', 'queued'), 'new');
        save(record('r2', 'backoff', { attempts: 1, next_retry_at: 9 }), 'retry');
        expect(ids(await store.claim({ limit: 10 }))).to.deep.equal(['r1', 'r2', 'n1', 'n2', 'n3']);
      });

      it('orders by the moment a job became ready, not by its submission', async () => {
        const { store, save } = await open();
        save(record('a', 'failed', { attempts: 1 }));
        save(record('b', 'queued'), 'new');
        save(record('a', 'queued', { attempts: 1, attempts_at_retry: 1 }), 'new'); // an operator's retry, later
        expect(ids(await store.claim({ limit: 10 }))).to.deep.equal(['b', 'a']);
      });

      it('takes at most `limit`, and a claimed job is never claimed again until it waits in a lane again', async () => {
        const { store, save } = await open();
        for (const id of ['a', 'b', 'c']) save(record(id, 'queued'), 'new');
        expect(ids(await store.claim({ limit: 2 }))).to.deep.equal(['a', 'b']);
        expect(ids(await store.claim({ limit: 2 }))).to.deep.equal(['c']);
        expect(await store.claim({ limit: 2 })).to.deep.equal([]);
        save(record('a', 'backoff', { attempts: 1 }), 'retry');
        expect(ids(await store.claim({ limit: 2 }))).to.deep.equal(['a']);
      });

      it('claims on from both lanes while the jobs of earlier claims are not written back yet', async () => {
        const { store, save } = await open();
        save(record('r1', 'backoff', { attempts: 1 }), 'retry');
        save(record('r2', 'backoff', { attempts: 1 }), 'retry');
        for (const id of ['n1', 'n2', 'n3']) save(record(id, 'queued'), 'new');
        await subject.settle(store); // on file, for a store that writes one
        expect(ids(await store.claim({ limit: 1 }))).to.deep.equal(['r1']);
        expect(ids(await store.claim({ limit: 2 }))).to.deep.equal(['r2', 'n1']);
        save(record('r3', 'backoff', { attempts: 1 }), 'retry'); // buffered, not on file
        expect(ids(await store.claim({ limit: 5 }))).to.deep.equal(['r3', 'n2', 'n3']);
      });

      it('never hands one job to two claims made at once', async () => {
        const { store, save } = await open();
        const all = ['a', 'b', 'c', 'd', 'e'];
        for (const id of all) save(record(id, 'queued'), 'new');
        const [first, second] = await Promise.all([store.claim({ limit: 3 }), store.claim({ limit: 3 })]);
        expect([...ids(first!), ...ids(second!)].sort()).to.deep.equal(all);
      });

      it('skips a type with no allowance left, without holding back the others', async () => {
        const { store, save } = await open();
        const typed = (id: string, type: string) => save(record(id, 'queued', { type }), 'new');
        typed('x1', 'x');
        typed('x2', 'x');
        typed('y1', 'y');
        typed('x3', 'x');
        typed('y2', 'y');
        expect(ids(await store.claim({ limit: 10, allowances: new Map([['x', 1]]) }))).to.deep.equal(['x1', 'y1', 'y2']);
        expect(ids(await store.claim({ limit: 10, allowances: new Map([['x', 0]]) }))).to.deep.equal([]);
        expect(ids(await store.claim({ limit: 1, allowances: new Map([['x', 5]]) }))).to.deep.equal(['x2']);
      });

      it('claims the highest priority first; within a priority every due retry first; ties first in, first out', async () => {
        const { store, save } = await open();
        const queued = (id: string, priority: number) => save(record(id, 'queued', { priority }), 'new');
        const retry = (id: string, priority: number) => save(record(id, 'backoff', { priority, attempts: 1 }), 'retry');
        queued('n0a', 0);
        queued('n5a', 5);
        retry('r0a', 0);
        queued('m1a', -1);
        retry('r5a', 5);
        queued('n5b', 5);
        queued('n3a', 3); // priorities only on file
        queued('m7a', -7);
        await subject.settle(store); // these on file, for a store that writes one; the rest buffered
        queued('n9a', 9);
        retry('r0b', 0);
        queued('n0b', 0);
        queued('n5c', 5);
        queued('m1b', -1);
        expect(ids(await store.claim({ limit: 1 }))).to.deep.equal(['n9a']);
        expect(ids(await store.claim({ limit: 2 }))).to.deep.equal(['r5a', 'n5a']);
        queued('n9b', 9); // a higher priority arrives between two claims: it goes next
        expect(ids(await store.claim({ limit: 3 }))).to.deep.equal(['n9b', 'n5b', 'n5c']);
        expect(ids(await store.claim({ limit: 2 }))).to.deep.equal(['n3a', 'r0a']);
        expect(ids(await store.claim({ limit: 2 }))).to.deep.equal(['r0b', 'n0a']);
        expect(ids(await store.claim({ limit: 10 }))).to.deep.equal(['n0b', 'm1a', 'm1b', 'm7a']);
        expect(await store.claim({ limit: 10 })).to.deep.equal([]);
      });

      it('keeps the priority order across job types and their allowances', async () => {
        const { store, save } = await open();
        const typed = (id: string, type: string, priority: number) => save(record(id, 'queued', { type, priority }), 'new');
        typed('x-low', 'x', -5);
        typed('y-low', 'y', -5);
        typed('x-high', 'x', 50);
        typed('x-high2', 'x', 50);
        typed('y-high', 'y', 50);
        const allowances = new Map([['x', 1]]);
        expect(ids(await store.claim({ limit: 10, allowances }))).to.deep.equal(['x-high', 'y-high', 'y-low']);
        expect(ids(await store.claim({ limit: 10 }))).to.deep.equal(['x-high2', 'x-low']);
      });

      it('tells, per priority highest first, when its longest-waiting job became ready', async () => {
        const { store, save } = await open();
        expect(await store.oldestWaiting()).to.deep.equal([]);
        save(record('q', 'queued', { priority: 2, created_at: 10, updated_at: 40 }), 'new'); // queued again at 40
        // Behind q in its lane: only the head of a lane counts (its time is made earlier to tell which one is read).
        save(record('q2', 'queued', { priority: 2, created_at: 11, updated_at: 20 }), 'new');
        save(record('r', 'backoff', { priority: 2, attempts: 1, updated_at: 5, next_retry_at: 30 }), 'retry'); // ready at 30
        save(record('low', 'queued', { priority: -3, created_at: 50, updated_at: 50 }), 'new');
        save(record('gone', 'queued', { priority: 9, updated_at: 1 }), 'new');
        await subject.settle(store);
        save(record('gone', 'cancelled', { priority: 9, updated_at: 60 }));
        expect(await store.oldestWaiting()).to.deep.equal([{ priority: 2, since: 30 }, { priority: -3, since: 50 }]);
      });

      it('returns the record as saved', async () => {
        const { store, save } = await open();
        const saved = record('a', 'queued', { type: 't', payload: { n: [1, 'two'] }, max_retries: 4, created_at: 7, updated_at: 7 });
        save(saved, 'new');
        expect(await store.claim({ limit: 1 })).to.deep.equal([saved]);
      });

      it('forgets a job saved without a lane (started, cancelled) from its lane', async () => {
        const { store, save } = await open();
        save(record('a', 'queued'), 'new');
        save(record('b', 'queued'), 'new');
        save(record('a', 'cancelled', { finished_at: 1 }));
        save(record('r', 'backoff', { attempts: 1 }), 'retry');
        save(record('r', 'cancelled', { attempts: 1, finished_at: 2 }));
        expect(ids(await store.claim({ limit: 10 }))).to.deep.equal(['b']);
      });
    });

    describe('scheduled jobs', () => {
      const scheduled = (id: string, at: number) => record(id, 'scheduled', { next_run_at: at });

      it('tells the earliest due time, and null when no job is scheduled', async () => {
        const { store, save } = await open();
        expect(await store.nextDueAt()).to.equal(null);
        save(scheduled('late', 900));
        await subject.settle(store);
        save(scheduled('soon', 300)); // buffered, for a store that writes one
        save(record('other', 'queued', { next_run_at: 100 }), 'new'); // not scheduled: its time is not a due time
        expect(await store.nextDueAt()).to.equal(300);
        save(record('soon', 'cancelled', { next_run_at: 300, finished_at: 5 }));
        expect(await store.nextDueAt()).to.equal(900);
      });

      it('hands out the due jobs in due order, then submission order, each once, within the limit', async () => {
        const { store, save } = await open();
        save(scheduled('c', 300));
        save(scheduled('a', 100));
        save(scheduled('b2', 200));
        save(scheduled('b1', 200));
        save(scheduled('future', 1000));
        await subject.settle(store);
        save(scheduled('buffered', 150));
        expect(ids(await store.takeDue(250, 2))).to.deep.equal(['a', 'buffered']);
        expect(ids(await store.takeDue(250, 10))).to.deep.equal(['b2', 'b1']);
        expect(await store.takeDue(299, 10)).to.deep.equal([]);
        expect(ids(await store.takeDue(300, 10))).to.deep.equal(['c']);
        expect(await store.nextDueAt()).to.equal(1000);
      });

      it('hands out a job due again once it is saved as scheduled again, and never a cancelled or queued one', async () => {
        const { store, save } = await open();
        save(scheduled('again', 100));
        save(scheduled('gone', 100));
        save(scheduled('moved', 100));
        expect(ids(await store.takeDue(100, 1))).to.deep.equal(['again']);
        save(scheduled('again', 150));
        save(record('gone', 'cancelled', { next_run_at: 100, finished_at: 1 }));
        save(record('moved', 'queued'), 'new');
        expect(ids(await store.takeDue(200, 10))).to.deep.equal(['again']);
        expect(ids(await store.claim({ limit: 10 }))).to.deep.equal(['moved']);
      });

      it('claims a job come due, saved into the retry lane, before the new jobs queued earlier', async () => {
        const { store, save } = await open();
        save(scheduled('due', 100));
        save(record('n1', 'queued', { updated_at: 50 }), 'new');
        save(record('n2', 'queued', { updated_at: 90 }), 'new');
        await subject.settle(store);
        const [due] = await store.takeDue(100, 10);
        save({ ...due!, state: 'queued', next_run_at: null, updated_at: 100 }, 'retry');
        save(record('n3', 'queued', { updated_at: 110 }), 'new');
        expect(ids(await store.claim({ limit: 10 }))).to.deep.equal(['due', 'n1', 'n2', 'n3']);
      });

      it('keeps a scheduled job out of the ready lanes, counted as scheduled, and returns it as saved', async () => {
        const { store, save } = await open();
        const saved = record('s', 'scheduled', { type: 't', payload: { n: 1 }, priority: 7, next_run_at: 50 });
        save(saved);
        await subject.settle(store);
        expect(await store.claim({ limit: 10 })).to.deep.equal([]);
        expect(await store.counts()).to.deep.equal({ ...zero, scheduled: 1 });
        expect(await store.get('s')).to.deep.equal(saved);
        expect(await store.takeDue(50, 10)).to.deep.equal([saved]);
      });
    });

    describe('schedules', () => {
      const row = (name: string, cron: string, last: number | null = null): ScheduleRow => ({
        name, paused: false, last_fire_at: last, last_job_id: last === null ? null : `sched:${name}:${last}`,
        spec: { cron, timezone: 'Europe/Berlin', payload: { n: [1] }, priority: -2, overlap: 'skip', catch_up: 'all' },
      });

      it('keeps schedules by name: saved, replaced, deleted, listed by name', async () => {
        const { store } = await open();
        expect(await store.schedules()).to.deep.equal([]);
        await store.saveSchedule(row('nightly', '0 2 * * *'));
        await store.saveSchedule(row('hourly', '0 * * * *'));
        await store.saveSchedule({ ...row('nightly', '0 3 * * *', 1000), paused: true });
        await store.deleteSchedule('unknown');
        expect(await store.schedules()).to.deep.equal([row('hourly', '0 * * * *'), { ...row('nightly', '0 3 * * *', 1000), paused: true }]);
        await store.deleteSchedule('hourly');
        expect((await store.schedules()).map(({ name }) => name)).to.deep.equal(['nightly']);
      });

      it('records a pause or a resume: paused only, never the definition or the last fire; nothing for an unknown name', async () => {
        const { store } = await open();
        await store.saveSchedule(row('nightly', '0 2 * * *', 1000));
        await store.saveSchedulePaused('nightly', true);
        await store.saveSchedulePaused('deleted', true);
        expect(await store.schedules()).to.deep.equal([{ ...row('nightly', '0 2 * * *', 1000), paused: true }]);
        await store.saveSchedulePaused('nightly', false);
        expect(await store.schedules()).to.deep.equal([row('nightly', '0 2 * * *', 1000)]);
      });

      it('records a fire: its last fire and job only, never an earlier or the same fire again, nothing for an unknown name', async () => {
        const { store } = await open();
        await store.saveSchedule({ ...row('nightly', '0 2 * * *', 1000), paused: true });
        await store.saveSchedule(row('hourly', '0 * * * *'));
        await store.saveScheduleFire({ name: 'nightly', last_fire_at: 2000, last_job_id: 'sched:nightly:2000' });
        await store.saveScheduleFire({ name: 'nightly', last_fire_at: 1500, last_job_id: 'sched:nightly:1500' });
        await store.saveScheduleFire({ name: 'nightly', last_fire_at: 2000, last_job_id: null });
        await store.saveScheduleFire({ name: 'hourly', last_fire_at: 500, last_job_id: null });
        await store.saveScheduleFire({ name: 'deleted', last_fire_at: 3000, last_job_id: 'sched:deleted:3000' });
        expect(await store.schedules()).to.deep.equal([
          { ...row('hourly', '0 * * * *'), last_fire_at: 500 },
          { ...row('nightly', '0 2 * * *', 2000), paused: true },
        ]);
      });
    });

    describe('reads', () => {
      it('gets the latest record of a job, and nothing for an unknown id', async () => {
        const { store, save } = await open();
        save(record('a', 'queued'), 'new');
        const running = record('a', 'running', { attempts: 1, started_at: 3 });
        save(running);
        expect(await store.get('a')).to.deep.equal(running);
        expect(await store.get('nope')).to.equal(undefined);
      });

      it('counts every state, in all and per type, after each kind of transition', async () => {
        const { store, save } = await open();
        const expectCounts = async (total: Partial<typeof zero>, byType: Record<string, Partial<typeof zero>>) => {
          await subject.settle(store);
          expect(await store.counts()).to.deep.equal({ ...zero, ...total });
          expect(await store.countsByType()).to.deep.equal(
            Object.fromEntries(Object.entries(byType).map(([type, counts]) => [type, { ...zero, ...counts }])),
          );
        };
        const step = async (id: string, type: string, state: JobState, total: Partial<typeof zero>, byType: Record<string, Partial<typeof zero>>) => {
          save(record(id, state, { type }), state === 'queued' ? 'new' : undefined);
          await expectCounts(total, byType);
        };
        await expectCounts({}, {});
        await step('a', 'x', 'queued', { queued: 1 }, { x: { queued: 1 } });
        await step('b', 'y', 'queued', { queued: 2 }, { x: { queued: 1 }, y: { queued: 1 } });
        // A waiting job starts as the engine starts it, claimed first: a store shared by several instances takes
        // the writes of an attempt only from the instance that claimed the job.
        expect(ids(await store.claim({ limit: 1 }))).to.deep.equal(['a']);
        await step('a', 'x', 'running', { queued: 1, running: 1 }, { x: { running: 1 }, y: { queued: 1 } });
        await step('a', 'x', 'backoff', { queued: 1, backoff: 1 }, { x: { backoff: 1 }, y: { queued: 1 } });
        await step('a', 'x', 'running', { queued: 1, running: 1 }, { x: { running: 1 }, y: { queued: 1 } });
        await step('a', 'x', 'failed', { queued: 1, failed: 1 }, { x: { failed: 1 }, y: { queued: 1 } });
        await step('b', 'y', 'cancelled', { failed: 1, cancelled: 1 }, { x: { failed: 1 }, y: { cancelled: 1 } });
        await step('a', 'x', 'queued', { queued: 1, cancelled: 1 }, { x: { queued: 1 }, y: { cancelled: 1 } });
        expect(ids(await store.claim({ limit: 1 }))).to.deep.equal(['a']);
        await step('a', 'x', 'running', { running: 1, cancelled: 1 }, { x: { running: 1 }, y: { cancelled: 1 } });
        await step('a', 'x', 'done', { done: 1, cancelled: 1 }, { x: { done: 1 }, y: { cancelled: 1 } });
      });

      it('lists newest first in pages linked by next_cursor, by state and type, and refuses a foreign cursor', async () => {
        const { store, save } = await open();
        for (const [id, type, state] of [
          ['a', 'x', 'done'], ['b', 'y', 'queued'], ['c', 'x', 'queued'], ['d', 'x', 'done'], ['e', 'y', 'done'],
        ] as const) {
          save(record(id, state, { type }), state === 'queued' ? 'new' : undefined);
        }
        const first = await store.list({ limit: 2 });
        expect(ids(first.jobs)).to.deep.equal(['e', 'd']);
        const second = await store.list({ limit: 2, cursor: first.next_cursor! });
        expect(ids(second.jobs)).to.deep.equal(['c', 'b']);
        const last = await store.list({ limit: 2, cursor: second.next_cursor! });
        expect([ids(last.jobs), last.next_cursor]).to.deep.equal([['a'], null]);
        expect(ids((await store.list({ limit: 10, state: 'done', type: 'x' })).jobs)).to.deep.equal(['d', 'a']);
        expect(ids((await store.list({ limit: 10, state: 'queued' })).jobs)).to.deep.equal(['c', 'b']);
        const error = await rejection<ServiceError>(store.list({ limit: 2, cursor: 'not-a-cursor' }));
        expect([error.code, error.details]).to.deep.equal(['validation_failed', { cursor: ['Not a cursor this server issued.'] }]);
      });

      it('lists the unfinished records, or those in the states asked for, in submission order', async () => {
        const { store, save } = await open();
        save(record('a', 'backoff'));
        save(record('b', 'done'));
        save(record('c', 'queued'), 'new');
        save(record('d', 'running'));
        expect(ids(await store.unfinished())).to.deep.equal(['a', 'c', 'd']);
        expect(ids(await store.unfinished(['running', 'backoff']))).to.deep.equal(['a', 'd']);
      });
    });

    describe('retention', () => {
      it('keeps the newest finished records beyond the retention, and never deletes an unfinished one', async () => {
        const { store, save } = await open(2);
        save(record('old-unfinished', 'queued'), 'new');
        // Every finished state counts toward the retention.
        save(record('f1', 'done'));
        save(record('f2', 'failed'));
        save(record('f3', 'cancelled'));
        save(record('f4', 'done'));
        await subject.settle(store);
        expect(ids((await store.list({ limit: 10 })).jobs)).to.deep.equal(['f4', 'f3', 'old-unfinished']);
        expect(await store.counts()).to.deep.equal({ ...zero, queued: 1, cancelled: 1, done: 1 });
        expect(ids(await store.claim({ limit: 10 }))).to.deep.equal(['old-unfinished']);
      });

      it('counts a job retried since it finished as unfinished, and evicts by its latest finish', async () => {
        const { store, save } = await open(2);
        save(record('a', 'failed'));
        save(record('b', 'done'));
        save(record('a', 'queued'), 'new'); // retried
        save(record('c', 'done'));
        save(record('a', 'done')); // finished again, last
        save(record('d', 'done'));
        await subject.settle(store);
        expect(ids((await store.list({ limit: 10 })).jobs).sort()).to.deep.equal(['a', 'd']);
      });
    });
  });
}
