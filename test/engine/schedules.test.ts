import { expect } from 'chai';
import { gate } from '../helpers/gate.js';
import sinon from 'sinon';
import { createSchedules, type SchedulesDeps } from '../../src/engine/schedules.js';
import type { ScheduleSpec } from '../../src/engine/schedule-fields.js';
import type { ServiceError } from '../../src/errors.js';
import type { JobStore } from '../../src/store/job-store.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { manualProcessor } from '../helpers/processors.js';
import { makeQueue, rejection } from '../helpers/queue.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();

const spec = (overrides: Partial<ScheduleSpec> = {}): ScheduleSpec => ({
  cron: '0 2 * * *', timezone: 'UTC', payload: null, priority: 0, overlap: 'allow', catch_up: 'latest', ...overrides,
});

describe('cron schedules', () => {
  let clock: sinon.SinonFakeTimers;
  let store: JobStore;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: Date.UTC(2026, 2, 23), toFake: ['setTimeout', 'clearTimeout', 'Date'] }); // a Monday
    store = createMemoryStore({ retention: 10_000 });
  });
  afterEach(() => sinon.restore());

  /** A service over `store`: its queue (one worker, held by the manual processor) and its schedules. */
  function service(options: Partial<SchedulesDeps> = {}) {
    const work = manualProcessor();
    const { queue, unhandled } = makeQueue(work.processor, { workers: 1, queueSize: 1000 }, () => 0.5, store);
    const errors: unknown[] = [];
    const fires: string[] = [];
    const schedules = createSchedules({
      queue, store, now: () => Date.now(), onError: (error) => errors.push(error), onFire: (name) => fires.push(name), ...options,
    });
    const jobIds = async () => (await queue.list({ limit: 1000 })).jobs.map((job) => job.id).reverse();
    return { queue, work, schedules, errors, fires, unhandled, jobIds };
  }

  describe('active', () => {
    it('fires at the exact times over a week, each fire a job whose id names the schedule and the time', async () => {
      const { schedules, jobIds, fires, errors } = service();
      const start = Date.now();
      await schedules.put('nightly', spec({ cron: '0 2 * * 1-5', payload: { report: true }, priority: 5 }));
      expect(schedules.get('nightly').next_fire_times.map(iso)).to.deep.equal([
        '2026-03-23T02:00:00.000Z', '2026-03-24T02:00:00.000Z', '2026-03-25T02:00:00.000Z',
        '2026-03-26T02:00:00.000Z', '2026-03-27T02:00:00.000Z',
      ]);
      await clock.tickAsync(2 * HOUR - 1);
      expect(await jobIds()).to.deep.equal([]);
      await clock.tickAsync(1);
      expect(await jobIds()).to.deep.equal(['sched:nightly:2026-03-23T02:00:00.000Z']);
      await clock.tickAsync(start + 7 * DAY - Date.now());
      expect(await jobIds()).to.deep.equal(
        ['23', '24', '25', '26', '27'].map((day) => `sched:nightly:2026-03-${day}T02:00:00.000Z`), // no weekend fire
      );
      expect(fires).to.deep.equal(['nightly', 'nightly', 'nightly', 'nightly', 'nightly']);
      expect(schedules.get('nightly')).to.deep.include({
        state: 'active',
        last_fire_at: Date.UTC(2026, 2, 27, 2),
        last_job_id: 'sched:nightly:2026-03-27T02:00:00.000Z',
      });
      expect(errors).to.deep.equal([]);
    });

    it('takes a 6-field expression with seconds', async () => {
      const { schedules } = service();
      await schedules.put('often', spec({ cron: '*/20 * * * * *' }));
      expect(schedules.get('often').next_fire_times.map((at) => at - Date.now())).to.deep.equal([20_000, 40_000, 60_000, 80_000, 100_000]);
    });

    it('follows Europe/Berlin across both DST changes of 2026, as croner defines them', async () => {
      clock.setSystemTime(Date.UTC(2026, 2, 27, 12));
      const { schedules } = service();
      await schedules.put('berlin', spec({ cron: '30 2 * * *', timezone: 'Europe/Berlin' }));
      // 2026-03-29 02:30 does not exist in Berlin (02:00 → 03:00): it fires at 03:00 CEST, 01:00 UTC.
      expect(schedules.get('berlin').next_fire_times.slice(0, 4).map(iso)).to.deep.equal([
        '2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z',
      ]);
      clock.setSystemTime(Date.UTC(2026, 9, 23, 12));
      await schedules.put('berlin', spec({ cron: '30 2 * * *', timezone: 'Europe/Berlin' }));
      // 2026-10-25 02:30 happens twice in Berlin (03:00 CEST → 02:00 CET): it fires once, at the first.
      expect(schedules.get('berlin').next_fire_times.slice(0, 4).map(iso)).to.deep.equal([
        '2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z', '2026-10-27T01:30:00.000Z',
      ]);
    });
  });

  describe('overlap', () => {
    it('skip: no new job while the previous one is unfinished', async () => {
      const { schedules, work, jobIds } = service();
      await schedules.put('s', spec({ cron: '* * * * *', overlap: 'skip' }));
      await clock.tickAsync(MINUTE); // fire 1 runs, and holds the one worker
      await clock.tickAsync(MINUTE); // fire 2 skipped
      expect(await jobIds()).to.deep.equal(['sched:s:2026-03-23T00:01:00.000Z']);
      work.calls[0]!.resolve();
      await clock.tickAsync(MINUTE);
      expect(await jobIds()).to.deep.equal(['sched:s:2026-03-23T00:01:00.000Z', 'sched:s:2026-03-23T00:03:00.000Z']);
    });

    it('allow: a job per fire regardless', async () => {
      const { schedules, jobIds } = service();
      await schedules.put('a', spec({ cron: '* * * * *', overlap: 'allow' }));
      await clock.tickAsync(3 * MINUTE);
      expect(await jobIds()).to.deep.equal(['01', '02', '03'].map((m) => `sched:a:2026-03-23T00:${m}:00.000Z`));
    });
  });

  describe('writes', () => {
    it('writes a put once, and each fire once: its last fire and job only', async () => {
      const { schedules } = service();
      const save = sinon.spy(store, 'saveSchedule');
      const saveFire = sinon.spy(store, 'saveScheduleFire');
      await schedules.put('n', spec({ cron: '*/10 * * * *' }));
      expect(save.args).to.deep.equal([[{ name: 'n', spec: spec({ cron: '*/10 * * * *' }), paused: false, last_fire_at: null, last_job_id: null }]]);
      await clock.tickAsync(20 * MINUTE);
      expect([save.callCount, saveFire.args]).to.deep.equal([1, [
        [{ name: 'n', last_fire_at: Date.UTC(2026, 2, 23, 0, 10), last_job_id: 'sched:n:2026-03-23T00:10:00.000Z' }],
        [{ name: 'n', last_fire_at: Date.UTC(2026, 2, 23, 0, 20), last_job_id: 'sched:n:2026-03-23T00:20:00.000Z' }],
      ]]);
    });

    it('leaves a schedule paused by another instance when a fire lands after the pause', async () => {
      const here = service();
      const other = service();
      await here.schedules.put('n', spec({ cron: '*/10 * * * *' }));
      await other.schedules.sync();
      other.schedules.pause('n'); // not followed here yet: here fires once more
      await clock.tickAsync(10 * MINUTE);
      expect(await store.schedules()).to.deep.equal([{
        name: 'n', spec: spec({ cron: '*/10 * * * *' }), paused: true,
        last_fire_at: Date.UTC(2026, 2, 23, 0, 10), last_job_id: 'sched:n:2026-03-23T00:10:00.000Z',
      }]);
      expect(here.errors.concat(other.errors)).to.deep.equal([]);
    });

    it('keeps a replacement another instance wrote when a pause lands after it: the pause writes paused only', async () => {
      const here = service();
      const other = service();
      await here.schedules.put('n', spec({ cron: '*/10 * * * *' }));
      await other.schedules.sync();
      await other.schedules.put('n', spec({ cron: '*/5 * * * *' })); // not followed here yet
      here.schedules.pause('n');
      await clock.tickAsync(0);
      expect(await store.schedules()).to.deep.equal([
        { name: 'n', spec: spec({ cron: '*/5 * * * *' }), paused: true, last_fire_at: null, last_job_id: null },
      ]);
      expect(here.errors.concat(other.errors)).to.deep.equal([]);
    });

    it('writes a failed fire too: the fire time reached, with the last job as it was', async () => {
      const { schedules, queue, errors } = service();
      await schedules.put('n', spec({ cron: '*/10 * * * *', overlap: 'skip' }));
      await clock.tickAsync(10 * MINUTE);
      sinon.stub(queue, 'get').rejects(new Error('store down'));
      await clock.tickAsync(10 * MINUTE);
      expect([(await store.schedules())[0]?.last_fire_at, (await store.schedules())[0]?.last_job_id, errors]).to.deep.equal([
        Date.UTC(2026, 2, 23, 0, 20), 'sched:n:2026-03-23T00:10:00.000Z', [new Error('store down')],
      ]);
    });
  });

  describe('paused', () => {
    it('fires nothing while paused, and goes on from the next fire time after a resume', async () => {
      const { schedules, jobIds } = service();
      await schedules.put('p', spec({ cron: '*/10 * * * *' }));
      expect(schedules.pause('p')).to.deep.include({ state: 'paused', next_fire_times: [] });
      await clock.tickAsync(25 * MINUTE);
      expect(await jobIds()).to.deep.equal([]);
      expect(schedules.resume('p').next_fire_times.slice(0, 2).map(iso)).to.deep.equal(['2026-03-23T00:30:00.000Z', '2026-03-23T00:40:00.000Z']);
      await clock.tickAsync(5 * MINUTE);
      expect(await jobIds()).to.deep.equal(['sched:p:2026-03-23T00:30:00.000Z']);
    });
  });

  describe('a restart', () => {
    /** Fires the schedule once at 00:10, then the process stops; the next starts at `restartAt` over the same store. */
    async function downAfterOneFire(catchUp: ScheduleSpec['catch_up'], restartAt: number) {
      const first = service();
      await first.schedules.put('r', spec({ cron: '*/10 * * * *', catch_up: catchUp }));
      await clock.tickAsync(10 * MINUTE);
      first.schedules.stop();
      first.queue.pause();
      clock.setSystemTime(restartAt);
      const second = service();
      await second.schedules.restore();
      return second;
    }

    it('catch_up none: skips the missed fires, and fires on from the next', async () => {
      const { jobIds, schedules } = await downAfterOneFire('none', Date.UTC(2026, 2, 23, 0, 45));
      expect(await jobIds()).to.deep.equal(['sched:r:2026-03-23T00:10:00.000Z']);
      expect(schedules.get('r').next_fire_times[0]).to.equal(Date.UTC(2026, 2, 23, 0, 50));
    });

    it('catch_up latest: fires the last missed one once', async () => {
      const { jobIds } = await downAfterOneFire('latest', Date.UTC(2026, 2, 23, 0, 45));
      expect(await jobIds()).to.deep.equal(['sched:r:2026-03-23T00:10:00.000Z', 'sched:r:2026-03-23T00:40:00.000Z']);
    });

    it('catch_up all: fires each missed one, the last 100 at most', async () => {
      const few = await downAfterOneFire('all', Date.UTC(2026, 2, 23, 0, 45));
      expect(await few.jobIds()).to.deep.equal(['10', '20', '30', '40'].map((m) => `sched:r:2026-03-23T00:${m}:00.000Z`));
      store = createMemoryStore({ retention: 10_000 });
      clock.setSystemTime(Date.UTC(2026, 2, 23));
      const many = await downAfterOneFire('all', Date.UTC(2026, 2, 23) + 10 * MINUTE + 200 * 10 * MINUTE);
      const ids = await many.jobIds();
      expect([ids.length, ids[1], ids.at(-1)]).to.deep.equal([101, `sched:r:${iso(Date.UTC(2026, 2, 23, 0, 10) + 101 * 10 * MINUTE)}`, `sched:r:${iso(Date.UTC(2026, 2, 23, 0, 10) + 200 * 10 * MINUTE)}`]);
    });

    it('writes the fires it caught up or skipped as one fire, and nothing else', async () => {
      const save = sinon.spy(store, 'saveSchedule');
      const saveFire = sinon.spy(store, 'saveScheduleFire');
      await downAfterOneFire('none', Date.UTC(2026, 2, 23, 0, 45));
      expect([save.callCount, saveFire.args]).to.deep.equal([1, [
        [{ name: 'r', last_fire_at: Date.UTC(2026, 2, 23, 0, 10), last_job_id: 'sched:r:2026-03-23T00:10:00.000Z' }],
        [{ name: 'r', last_fire_at: Date.UTC(2026, 2, 23, 0, 40), last_job_id: 'sched:r:2026-03-23T00:10:00.000Z' }],
      ]]);
    });

    it('between two fires: no double fire, and the next on time', async () => {
      const { jobIds, schedules } = await downAfterOneFire('latest', Date.UTC(2026, 2, 23, 0, 15));
      expect(await jobIds()).to.deep.equal(['sched:r:2026-03-23T00:10:00.000Z']);
      await clock.tickAsync(5 * MINUTE);
      expect(await jobIds()).to.deep.equal(['sched:r:2026-03-23T00:10:00.000Z', 'sched:r:2026-03-23T00:20:00.000Z']);
      expect(schedules.get('r').last_job_id).to.equal('sched:r:2026-03-23T00:20:00.000Z');
    });

    it('a fire submitted twice (a second instance, a lost write) makes one job', async () => {
      const first = service();
      await first.schedules.put('twice', spec({ cron: '*/10 * * * *' }));
      const other = createSchedules({ queue: first.queue, store: createMemoryStore({ retention: 10 }), now: () => Date.now() });
      await other.put('twice', spec({ cron: '*/10 * * * *' }));
      await clock.tickAsync(10 * MINUTE);
      expect(await first.jobIds()).to.deep.equal(['sched:twice:2026-03-23T00:10:00.000Z']);
      expect([first.schedules.get('twice').last_job_id, other.get('twice').last_job_id]).to.deep.equal([
        'sched:twice:2026-03-23T00:10:00.000Z', 'sched:twice:2026-03-23T00:10:00.000Z',
      ]);
      expect(first.errors).to.deep.equal([]);
    });

    it('keeps a paused schedule paused', async () => {
      const first = service();
      await first.schedules.put('p', spec());
      first.schedules.pause('p');
      first.schedules.stop();
      const second = service();
      await second.schedules.restore();
      expect(second.schedules.get('p')).to.deep.include({ state: 'paused', next_fire_times: [] });
    });

    it('writes nothing when it restores a paused schedule (another instance could read it resumed meanwhile)', async () => {
      const first = service();
      await first.schedules.put('p', spec());
      first.schedules.pause('p');
      first.schedules.stop();
      const save = sinon.spy(store, 'saveSchedule');
      await service().schedules.restore();
      expect(save.callCount).to.equal(0);
    });
  });

  describe('sync (another instance changed the stored schedules)', () => {
    it('follows a new, paused, resumed, replaced and deleted schedule, and keeps the later of the last fires', async () => {
      const here = service();
      const other = service();
      await other.schedules.put('n', spec({ cron: '0 * * * *' }));
      await here.schedules.sync();
      expect(here.schedules.list().map((s) => [s.name, s.state, s.spec.cron])).to.deep.equal([['n', 'active', '0 * * * *']]);
      other.schedules.pause('n');
      await here.schedules.sync();
      expect(here.schedules.get('n').state).to.equal('paused');
      other.schedules.resume('n');
      await here.schedules.sync();
      expect(here.schedules.get('n')).to.deep.include({ state: 'active', last_fire_at: null });
      other.schedules.stop(); // from here on only this instance fires
      await clock.tickAsync(HOUR);
      expect(here.schedules.get('n').last_fire_at).to.equal(Date.UTC(2026, 2, 23, 1));
      // A replacement written by an instance that had not seen that fire: the fire is kept, not fired again.
      await store.saveSchedule({ name: 'n', spec: spec({ cron: '0 */2 * * *' }), paused: false, last_fire_at: null, last_job_id: null });
      await here.schedules.sync();
      expect(here.schedules.get('n')).to.deep.include({ last_fire_at: Date.UTC(2026, 2, 23, 1), next_fire_times: [
        Date.UTC(2026, 2, 23, 2), Date.UTC(2026, 2, 23, 4), Date.UTC(2026, 2, 23, 6), Date.UTC(2026, 2, 23, 8), Date.UTC(2026, 2, 23, 10),
      ] });
      await store.deleteSchedule('n');
      await here.schedules.sync();
      expect(here.schedules.list()).to.deep.equal([]);
      expect(here.errors.concat(other.errors)).to.deep.equal([]);
    });

    it('writes nothing when it follows a change: the change is stored already, and a newer one may follow it', async () => {
      const here = service();
      const other = service();
      await other.schedules.put('n', spec());
      const save = sinon.spy(store, 'saveSchedule');
      const writesOfSync = async () => {
        save.resetHistory();
        await here.schedules.sync();
        return save.callCount;
      };
      expect(await writesOfSync()).to.equal(0); // starts n
      other.schedules.pause('n');
      await clock.tickAsync(0);
      expect(await writesOfSync()).to.equal(0); // pauses n
      await store.saveSchedule({ name: 'n', spec: spec({ cron: '5 * * * *' }), paused: true, last_fire_at: null, last_job_id: null });
      expect(await writesOfSync()).to.equal(0); // restarts n, paused, with the new expression
      expect(here.schedules.get('n')).to.deep.include({ state: 'paused', spec: spec({ cron: '5 * * * *' }) });
    });

    it('reads again when a change is made here while it reads, so it never undoes it', async () => {
      const here = service();
      await here.schedules.put('n', spec());
      const held = gate();
      const read = store.schedules.bind(store);
      const reads = sinon.stub(store, 'schedules').callsFake(async () => {
        const rows = await read();
        if (reads.callCount === 1) await held.passed; // the first read answers only after the delete below
        return rows;
      });
      const synced = here.schedules.sync();
      await clock.tickAsync(0);
      await here.schedules.delete('n');
      held.open();
      await synced;
      expect([here.schedules.list(), reads.callCount]).to.deep.equal([[], 2]);
    });

    it("follows a pause while this instance's last fire is still being written", async () => {
      const here = service();
      const other = service();
      await here.schedules.put('n', spec({ cron: '*/10 * * * *' }));
      await other.schedules.sync();
      const held = gate();
      sinon.stub(store, 'saveScheduleFire').callsFake(() => held.passed);
      await clock.tickAsync(10 * MINUTE); // here fires; its write waits at the gate
      other.schedules.pause('n');
      await clock.tickAsync(0);
      await here.schedules.sync();
      expect(here.schedules.get('n').state).to.equal('paused');
      held.open();
    });

    it("reads the table only after this instance's own writes, so it never undoes its latest change", async () => {
      const here = service();
      await here.schedules.put('n', spec());
      const held = gate();
      const save = store.saveSchedule.bind(store);
      sinon.stub(store, 'saveSchedule').callsFake((row) => held.passed.then(() => save(row)));
      here.schedules.pause('n'); // its write waits at the gate: the table still says active
      const synced = here.schedules.sync();
      await clock.tickAsync(0);
      held.open();
      await synced;
      expect(here.schedules.get('n').state).to.equal('paused');
      expect((await store.schedules()).map((row) => row.paused)).to.deep.equal([true]);
    });
  });

  describe('put, replace and delete', () => {
    it('replaces a schedule: the new expression from now on, the fires reached kept', async () => {
      const { schedules, jobIds } = service();
      expect((await schedules.put('x', spec({ cron: '*/10 * * * *' }))).created).to.equal(true);
      await clock.tickAsync(10 * MINUTE);
      const replaced = await schedules.put('x', spec({ cron: '*/15 * * * *' }));
      const { created, schedule } = replaced;
      expect([created, schedule.last_fire_at, schedule.last_job_id, iso(schedule.next_fire_times[0]!)]).to.deep.equal([
        false, Date.UTC(2026, 2, 23, 0, 10), 'sched:x:2026-03-23T00:10:00.000Z', '2026-03-23T00:15:00.000Z',
      ]);
      await clock.tickAsync(10 * MINUTE);
      expect(await jobIds()).to.deep.equal(['sched:x:2026-03-23T00:10:00.000Z', 'sched:x:2026-03-23T00:15:00.000Z']);
      expect((await store.schedules()).map((row) => row.spec.cron)).to.deep.equal(['*/15 * * * *']);
    });

    it('deletes a schedule: no more fires, and gone from the store', async () => {
      const { schedules, jobIds } = service();
      await schedules.put('d', spec({ cron: '* * * * *' }));
      await schedules.delete('d');
      await clock.tickAsync(5 * MINUTE);
      expect([await jobIds(), await store.schedules(), schedules.list()]).to.deep.equal([[], [], []]);
      expect((await rejection<ServiceError>(schedules.delete('d'))).code).to.equal('not_found');
    });

    it('refuses a bad expression, a bad time zone and an unknown type, naming the field', async () => {
      const { schedules } = service();
      const details = async (s: ScheduleSpec) => {
        const error = await rejection<ServiceError>(schedules.put('bad', s));
        return [error.code, error.details];
      };
      expect(await details(spec({ cron: '* * *' }))).to.deep.equal(['validation_failed', {
        cron: ['Must be a cron expression of 5 fields (minute hour day month weekday) or 6 (with seconds first).'],
      }]);
      expect((await details(spec({ cron: '0 0 2 * * * 2027' })))[1]).to.deep.equal({
        cron: ['Must be a cron expression of 5 fields (minute hour day month weekday) or 6 (with seconds first).'],
      });
      expect((await details(spec({ cron: '61 * * * *' })))[1]).to.have.keys('cron');
      expect(await details(spec({ timezone: 'Mars/Base' }))).to.deep.equal(['validation_failed', {
        timezone: ['Unknown time zone "Mars/Base"; use an IANA name, e.g. Europe/Berlin.'],
      }]);
      expect((await details(spec({ type: 'nope' })))[0]).to.equal('unknown_job_type');
      expect(schedules.list()).to.deep.equal([]);
    });
  });
});
