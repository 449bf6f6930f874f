/**
 * Several instances on one PostgreSQL store, in one process: each instance is a job queue with a store of its
 * own on the same schema. These run against the real database on real time (its clock decides leases), and
 * wait for conditions, never for fixed times.
 */
import { expect } from 'chai';
import sinon from 'sinon';
import type { RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import { gate } from '../helpers/gate.js';
import type pg from 'pg';
import { DuplicateJobError, ServiceError, StoreOpenError } from '../../src/errors.js';
import type { JobQueue } from '../../src/engine/job-queue.types.js';
import { PG_MIGRATIONS } from '../../src/store/postgres-schema.js';
import { openPostgresStore, START_WRITE_DELAY_MS, type PostgresStore } from '../../src/store/postgres-store.js';
import { createJobQueue } from '../../src/engine/job-queue.js';
import { createSchedules, type Schedules } from '../../src/engine/schedules.js';
import { fireJobId, type ScheduleSpec } from '../../src/engine/schedule-fields.js';
import { jsonEqual } from '../../src/json-equal.js';
import { createJobTypes } from '../../src/job-types/registry.js';
import { makeQueue } from '../helpers/queue.js';
import { manualProcessor } from '../helpers/processors.js';
import { freshSchema, postgresStores, withTestClient } from './postgres-support.js';
import { ids, nextTick, record } from './support.js';

/** Resolves once `condition` holds, checking every 10 ms; fails after `ms`. */
async function until(condition: () => boolean | Promise<boolean>, ms = 3000, what = 'the condition') {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) expect.fail(`${what} did not hold within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Every lease in `schema` ran out a second ago: its owner has died, or paused past it. */
const expireLeases = (store: PostgresStore, schema: string) =>
  store.pool.query(`UPDATE ${schema}.jobs SET lease_expires_at = now() - interval '1 second'`);

/** Runs each of the store's statements named `name` (its prepared ones) through `around`; `run` executes it. */
function aroundStatement(store: PostgresStore, name: string, around: (run: () => Promise<pg.QueryResult>) => Promise<unknown>) {
  const query = store.pool.query.bind(store.pool) as (...args: unknown[]) => Promise<pg.QueryResult>;
  store.pool.query = ((config: unknown, ...rest: unknown[]) =>
    (config as { name?: string }).name === name ? around(() => query(config, ...rest)) : query(config, ...rest)) as typeof store.pool.query;
}

describe('job queue on the postgres store: several instances', function () {
  this.timeout(15_000);
  const databases = postgresStores();
  const queues: JobQueue[] = [];
  afterEach(async () => {
    // Stops the actors first: the stores then release the jobs and close.
    // (A queue whose store a test closed already cannot list its jobs at the end of the drain.)
    for (const queue of queues.splice(0)) await queue.drain(0).catch(() => {});
    await databases.cleanup();
  });

  async function instance(
    schema: string,
    options: { workers?: number; queueSize?: number; pollMs?: number; leaseMs?: number; opened?: (store: PostgresStore) => void } = {},
  ) {
    const fenced: string[] = [];
    const store = await databases.open({ schema, pollMs: options.pollMs ?? 60_000, leaseMs: options.leaseMs ?? 30_000, onFenced: (id) => fenced.push(id) });
    options.opened?.(store);
    const work = manualProcessor();
    const made = makeQueue(work.processor, { workers: options.workers ?? 1, queueSize: options.queueSize ?? 10 }, () => 0.5, store);
    queues.push(made.queue);
    await made.queue.recover();
    return { ...made, store, work, fenced };
  }

  it('starts a job submitted to a busy instance on an idle one at once, woken by a notification', async () => {
    const schema = freshSchema();
    const a = await instance(schema);
    const b = await instance(schema);
    await a.queue.submit({ id: 'one', payload: null });
    await a.queue.submit({ id: 'two', payload: null });
    // One worker each, and no poll within the test (PG_POLL_MS 60 s): only a notification can wake the other.
    await until(() => a.work.calls.length === 1 && b.work.calls.length === 1, 2000, 'one job on each instance');
    expect([...a.work.calls, ...b.work.calls].map((call) => call.job.id).sort()).to.deep.equal(['one', 'two']);
    expect(a.unhandled.concat(b.unhandled)).to.deep.equal([]);
  });

  it('starts a claimed attempt while its running record is still being written, and writes it after', async () => {
    const schema = freshSchema();
    const a = await instance(schema);
    // Every upsert of records waits at a gate: the claim (its own statement) is not held back.
    const held = gate();
    aroundStatement(a.store, 'jobsvc-upsert', (run) => held.passed.then(run));
    const stateOf = async () => (await a.store.pool.query(`SELECT state, owner FROM ${schema}.jobs`)).rows;
    try {
      await a.queue.submit({ id: 'j', payload: null });
      await until(() => a.work.calls.length === 1, 2000, 'the attempt to start');
      // Claimed (this instance's, under its lease), not yet recorded as running.
      expect(await stateOf()).to.deep.equal([{ state: 'queued', owner: a.store.shared.instanceId }]);
      a.work.latest('j').resolve('ok');
    } finally {
      held.open(); // else a failure here would leave the writes, and the queue's drain, waiting for ever
    }
    await until(async () => (await stateOf())[0]?.state === 'done', 2000, 'the outcome to be written');
    expect(await stateOf()).to.deep.equal([{ state: 'done', owner: null }]);
  });

  it('claims jobs for all its free workers in one statement (the per-turn start limit is for stores in the process)', async () => {
    const schema = freshSchema();
    const seed = await databases.open({ schema });
    for (let i = 0; i < 40; i++) void seed.save(record(`j${i}`, 'queued'), null, 'new');
    await seed.flush();
    const claims: number[] = [];
    const a = await instance(schema, {
      workers: 40,
      opened(store) {
        aroundStatement(store, 'jobsvc-claim', async (run) => {
          const result = await run();
          claims.push(result.rowCount!);
          return result;
        });
      },
    });
    await until(() => a.work.calls.length === 40, 2000, 'all 40 jobs to start');
    expect(claims.filter((n) => n > 0)).to.deep.equal([40]);
  });

  it('admits exactly QUEUE_SIZE waiting jobs across instances under concurrent submissions', async () => {
    const schema = freshSchema();
    const a = await instance(schema, { queueSize: 3 });
    const b = await instance(schema, { queueSize: 3 });
    await a.queue.submit({ id: 'r1', payload: null });
    await b.queue.submit({ id: 'r2', payload: null });
    await until(() => a.work.calls.length + b.work.calls.length === 2, 2000, 'both workers busy');
    await until(async () => (await a.queue.stats()).states.running === 2, 2000, 'two running');
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).queue.submit({ id: `w${i}`, payload: null })),
    );
    const admitted = outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
    const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [(outcome.reason as ServiceError).code] : []));
    expect([admitted, refused]).to.deep.equal([3, Array(7).fill('queue_full')]);
    expect((await a.queue.stats()).queue).to.deep.equal({ used: 3, capacity: 3 });
  });

  it("refuses an operator's retry with queue_full when the cluster's QUEUE_SIZE jobs wait already", async () => {
    const schema = freshSchema();
    const a = await instance(schema, { workers: 1, queueSize: 1 });
    const b = await instance(schema, { workers: 1, queueSize: 1 });
    await a.queue.submit({ id: 'f', payload: null, max_retries: 0 });
    await until(() => a.work.calls.length + b.work.calls.length === 1, 2000, 'f to start');
    (a.work.calls[0] ?? b.work.calls[0])!.reject(new Error('boom'));
    await until(async () => (await a.queue.get('f'))?.state === 'failed', 2000, 'f to fail');
    await a.queue.submit({ id: 'held-a', payload: null });
    await until(() => a.work.calls.length + b.work.calls.length === 2, 2000, 'held-a to start');
    await b.queue.submit({ id: 'held-b', payload: null });
    await until(() => a.work.calls.length + b.work.calls.length === 3, 2000, 'both workers busy');
    await a.queue.submit({ id: 'waiting', payload: null }); // the one place of QUEUE_SIZE=1, taken
    const refused = await a.queue.retry('f').then(() => null, (error: ServiceError) => error);
    expect([refused?.status, refused?.code]).to.deep.equal([429, 'queue_full']);
    const elsewhere = await b.queue.retry('f').then(() => null, (error: ServiceError) => error);
    expect([elsewhere?.status, elsewhere?.code]).to.deep.equal([429, 'queue_full']);
    // A worker frees up, takes the waiting job, and the place is free again: the retry goes in.
    const holder = [...a.work.calls, ...b.work.calls].find((call) => call.job.id === 'held-a')!;
    holder.resolve(null);
    await until(async () => (await a.queue.get('waiting'))?.state === 'running', 2000, 'the waiting job to start');
    expect((await b.queue.retry('f')).state).to.equal('queued');
  });

  it("holds dispatch on every instance, and on one that starts later, until an operator lets go through any", async () => {
    const schema = freshSchema();
    const a = await instance(schema);
    const b = await instance(schema);
    await a.queue.pauseDispatch();
    await until(() => b.queue.dispatchPaused(), 2000, 'b to hold dispatch');
    const c = await instance(schema); // starts held: it read the cluster's setting
    expect([a.queue.dispatchPaused(), b.queue.dispatchPaused(), c.queue.dispatchPaused()]).to.deep.equal([true, true, true]);
    await b.queue.submit({ id: 'j', payload: null });
    // (That a held instance starts nothing is the supervisor's, tested on its own: here, that every one holds.)
    const resumedAt = Date.now();
    await c.queue.resumeDispatch();
    await until(() => !a.queue.dispatchPaused() && !b.queue.dispatchPaused(), 2000, 'a and b to let go');
    await until(() => a.work.calls.length + b.work.calls.length + c.work.calls.length === 1, 2000, 'the job to start');
    // Started on any of them: its `running` record is written after its attempt starts (read through b, it may
    // still be on its way).
    const runningSince = async () => (await b.queue.get('j'))!.history.find((entry) => entry.to === 'running')?.at;
    await until(async () => (await runningSince()) !== undefined, 2000, 'the running record to be written');
    expect(await runningSince()).to.be.at.least(resumedAt);
    const setting = await a.store.pool.query(`SELECT name, value FROM ${schema}.settings`);
    expect(setting.rows).to.deep.equal([{ name: 'dispatch_paused', value: false }]);
  });

  it('creates one job for one id submitted to two instances at once', async () => {
    const schema = freshSchema();
    const a = await instance(schema);
    const b = await instance(schema);
    const outcomes = await Promise.allSettled([a.queue.submit({ id: 'same', payload: 1 }), b.queue.submit({ id: 'same', payload: 1 })]);
    expect(outcomes.map((outcome) => outcome.status).sort()).to.deep.equal(['fulfilled', 'rejected']);
    const refusal = outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
    expect(refusal.reason).to.be.instanceOf(DuplicateJobError);
    const rows = await a.store.pool.query(`SELECT id FROM ${schema}.jobs`);
    expect(rows.rows).to.deep.equal([{ id: 'same' }]);
  });

  it('cancels a job running on another instance, which aborts its attempt', async () => {
    const schema = freshSchema();
    const a = await instance(schema);
    const b = await instance(schema);
    await a.queue.submit({ id: 'j', payload: null });
    await until(() => a.work.calls.length + b.work.calls.length === 1, 2000, 'the job running');
    const [runner, other] = a.work.calls.length === 1 ? [a, b] : [b, a];
    const cancelled = await other.queue.cancel('j');
    expect([cancelled.state, runner.work.latest('j').signal.aborted]).to.deep.equal(['cancelled', true]);
    expect(cancelled.history.map((t) => [t.from, t.to, t.event])).to.deep.equal([
      [null, 'queued', 'SUBMIT'],
      ['queued', 'running', 'SLOT_GRANTED'],
      ['running', 'running', 'CANCEL'],
      ['running', 'cancelled', 'ATTEMPT_FAILED'],
    ]);
  });

  it("holds a type's concurrency across instances", async () => {
    const schema = freshSchema();
    let polls = 0;
    const limitedInstance = async () => {
      const store = await databases.open({ schema, pollMs: 50 });
      // Counts the polls that reach the engine, so that the test waits for polls rather than for time.
      const watch = store.shared.watch.bind(store.shared);
      store.shared.watch = (listener) => watch({ ...listener, poll: () => (polls++, listener.poll()) });
      const work = manualProcessor();
      const types = createJobTypes(
        [{ name: 'x', kind: 'module', source: 'x.ts', options: { concurrency: 1 }, processor: work.processor }],
        { defaultType: 'x', maxRetries: 0, maxRetriesLimit: 5, timeoutMs: 0, backoff: { baseMs: 10, maxMs: 10, jitterMs: 0 } },
      );
      const queue = createJobQueue(
        { workers: 4, queueSize: 10, backoff: { baseMs: 10, maxMs: 10, jitterMs: 0 }, jobTimeoutMs: 0, jobRetention: 100 },
        { types, store },
      );
      queues.push(queue);
      await queue.recover();
      return { queue, work };
    };
    const a = await limitedInstance();
    const b = await limitedInstance();
    const running = () => [...a.work.calls, ...b.work.calls];
    for (const id of ['x1', 'x2', 'x3']) await a.queue.submit({ id, payload: null });
    for (let started = 1; started <= 3; started++) {
      await until(() => running().length === started, 3000, `attempt ${started} started`);
      // Three polls of each instance go by: none starts a second job of the type meanwhile.
      const pollsBefore = polls;
      await until(() => polls >= pollsBefore + 6, 3000, 'six more polls');
      expect(running().length).to.equal(started);
      running()[started - 1]!.resolve();
    }
  });

  it('releases its jobs at a graceful close: another instance takes them over at once, not after the lease', async () => {
    const schema = freshSchema();
    const a = await instance(schema, { leaseMs: 30_000 });
    await a.queue.submit({ id: 'j', payload: null, max_retries: 2 });
    await until(() => a.work.calls.length === 1, 2000, 'the job running on a');
    const b = await instance(schema, { leaseMs: 30_000 });
    a.queue.pause();
    await a.queue.drain(0);
    await a.store.close();
    // b polls once a minute: only a's notice can bring the job over within the wait.
    await until(() => b.work.calls.length === 1, 3000, 'the job running on b');
    const job = await b.queue.get('j');
    expect([job!.state, job!.attempts, job!.history.map((t) => [t.from, t.to, t.event])]).to.deep.equal([
      'running',
      2,
      [
        [null, 'queued', 'SUBMIT'],
        ['queued', 'running', 'SLOT_GRANTED'],
        ['running', 'backoff', 'RESTORED'],
        ['backoff', 'running', 'SLOT_GRANTED'],
      ],
    ]);
  });

  it('runs a job scheduled through an instance that is gone when it comes due, and by priority among the ready', async () => {
    const schema = freshSchema();
    const a = await instance(schema);
    const b = await instance(schema, { pollMs: 50 });
    const dueAt = Date.now() + 300;
    await a.queue.submit({ id: 'later', payload: null, delay_ms: 300 });
    a.queue.pause();
    await a.queue.drain(0);
    await a.store.close();
    await until(() => b.work.calls.length === 1, 3000, 'the scheduled job running on b');
    expect(Date.now()).to.be.at.least(dueAt);
    expect((await b.queue.get('later'))!.history.map((t) => [t.from, t.to, t.event])).to.deep.equal([
      [null, 'scheduled', 'SUBMIT'],
      ['scheduled', 'queued', 'DUE'],
      ['queued', 'running', 'SLOT_GRANTED'],
    ]);
    // b's one worker is busy: what waits is claimed by priority, whoever submitted it.
    await b.queue.submit({ id: 'low', payload: null, priority: -5 });
    await b.queue.submit({ id: 'high', payload: null, priority: 7 });
    b.work.latest('later').resolve();
    await until(() => b.work.calls.length === 2, 3000, 'the next job running');
    expect(b.work.calls.map((call) => call.job.id)).to.deep.equal(['later', 'high']);
  });

  it('takes over the jobs of an instance whose lease ran out: the running attempt is interrupted and retried', async () => {
    const schema = freshSchema();
    // The dead instance: a store handle that claimed a job and started it, then stopped renewing.
    const dead = await databases.open({ schema });
    void dead.save(record('j', 'queued', { max_retries: 1 }), null, 'new');
    const [claimed] = await dead.claim({ limit: 1 });
    void dead.save({ ...claimed!, state: 'running', attempts: 1, started_at: Date.now() }, 'queued');
    await dead.flush();
    await expireLeases(dead, schema);
    const b = await instance(schema, { pollMs: 50 });
    await until(() => b.work.calls.length === 1, 3000, 'the job retried on b');
    expect((await b.queue.get('j'))!.history.map((t) => [t.from, t.to, t.event])).to.deep.equal([
      ['running', 'backoff', 'RESTORED'],
      ['backoff', 'running', 'SLOT_GRANTED'],
    ]);
  });
  it('counts the attempt of an instance that died before writing its start: a job that kills its process runs out of retries', async () => {
    const schema = freshSchema();
    const a = await instance(schema);
    // a never writes the job's running record (it dies as the attempt starts, say); the claim is not held back.
    const held = gate();
    aroundStatement(a.store, 'jobsvc-upsert', (run) => held.passed.then(run));
    try {
      await a.queue.submit({ id: 'j', payload: null, max_retries: 0 });
      await until(() => a.work.calls.length === 1, 2000, 'the attempt to start on a');
      await expireLeases(a.store, schema);
      const b = await instance(schema, { pollMs: 50 });
      await until(async () => (await b.queue.get('j'))?.state === 'failed', 3000, 'the job to fail on b');
      const failed = (await b.queue.get('j'))!;
      expect([failed.attempts, failed.last_error, b.work.calls.length]).to.deep.equal([1, 'interrupted', 0]);
      expect(failed.history.map((t) => [t.from, t.to, t.event])).to.deep.equal([
        [null, 'queued', 'SUBMIT'],
        ['running', 'failed', 'RESTORED'],
      ]);
    } finally {
      held.open();
    }
    // a's late writes of that attempt (its start, its outcome) change nothing on the row b finished.
    a.work.latest('j').resolve('ok');
    await until(() => a.fenced.includes('j'), 2000, "a's late write to be fenced");
    const row = await a.store.pool.query(`SELECT state, attempt, owner FROM ${schema}.jobs`);
    expect(row.rows).to.deep.equal([{ state: 'failed', attempt: 1, owner: null }]);
  });
});

describe('schedules on the postgres store: several instances follow one table', function () {
  this.timeout(15_000);
  const databases = postgresStores();
  const made: { queue: JobQueue; schedules: Schedules }[] = [];
  afterEach(async () => {
    // Timers stopped and queues drained even after a failure, so that nothing keeps the process alive.
    for (const { queue, schedules } of made.splice(0)) {
      schedules.stop();
      await queue.drain(0).catch(() => {});
    }
    await databases.cleanup();
  });

  const spec = (cron: string): ScheduleSpec => ({ cron, timezone: 'UTC', payload: null, priority: 0, overlap: 'skip', catch_up: 'latest' });

  async function instance(schema: string) {
    const store = await databases.open({ schema });
    const { queue } = makeQueue(manualProcessor().processor, { workers: 1, queueSize: 10 }, () => 0.5, store);
    await queue.recover(); // it starts listening to the other instances
    const errors: unknown[] = [];
    const schedules = createSchedules({ queue, store, onError: (error) => errors.push(error) });
    await schedules.restore();
    store.shared.watchSchedules(() => void schedules.sync().catch((error: unknown) => errors.push(error)));
    made.push({ queue, schedules });
    return { schedules, store, errors, queue };
  }
  /** What an instance runs: each schedule's name, state and expression. */
  const running = (schedules: Schedules) => schedules.list().map((s) => `${s.name} ${s.state} ${s.spec.cron}`);

  it('creates, pauses, resumes, replaces and deletes a schedule on every instance, whichever one was asked', async () => {
    const schema = freshSchema();
    const a = await instance(schema);
    const b = await instance(schema);
    const follows = async (expected: string[]) => {
      const both = () => jsonEqual(running(a.schedules), expected) && jsonEqual(running(b.schedules), expected);
      await until(both, 3000, `both to run ${expected.join()} (a runs ${running(a.schedules).join()}; b runs ${running(b.schedules).join()})`);
    };
    await a.schedules.put('nightly', spec('0 2 * * *'));
    await follows(['nightly active 0 2 * * *']);
    a.schedules.pause('nightly');
    await follows(['nightly paused 0 2 * * *']);
    b.schedules.resume('nightly');
    await follows(['nightly active 0 2 * * *']);
    b.schedules.pause('nightly');
    await follows(['nightly paused 0 2 * * *']);
    await a.schedules.put('nightly', spec('30 3 * * *')); // a replacement starts active
    await follows(['nightly active 30 3 * * *']);
    await b.schedules.put('hourly', spec('0 * * * *'));
    await follows(['hourly active 0 * * * *', 'nightly active 30 3 * * *']);
    await b.schedules.delete('nightly');
    await follows(['hourly active 0 * * * *']);
    // The table says what both run: no instance wrote an older state back while following.
    const rows = await a.store.pool.query(`SELECT name, row->>'paused' AS paused, row->'spec'->>'cron' AS cron FROM ${schema}.schedules`);
    expect(rows.rows).to.deep.equal([{ name: 'hourly', paused: 'false', cron: '0 * * * *' }]);
    expect([...a.errors, ...b.errors]).to.deep.equal([]);
  });

  it('keeps a schedule paused by another store handle when a fire of this instance is written after the pause', async () => {
    const schema = freshSchema();
    const a = await instance(schema);
    const other = await databases.open({ schema });
    const held = gate();
    const saveFire = a.store.saveScheduleFire.bind(a.store);
    const fires = sinon.stub(a.store, 'saveScheduleFire').callsFake((fire) => held.passed.then(() => saveFire(fire)));
    await a.schedules.put('n', spec('* * * * * *'));
    await until(() => fires.called, 3000, 'a fire of a');
    const [stored] = await other.schedules();
    await other.saveSchedule({ ...stored!, paused: true });
    await until(() => a.schedules.get('n').state === 'paused', 3000, 'a to follow the pause');
    held.open();
    await Promise.all(fires.returnValues);
    // The latest of a's fires (more may have been held meanwhile), written into the paused row.
    const latest = fires.args.map(([fire]) => fire).reduce((x, y) => (y.last_fire_at > x.last_fire_at ? y : x));
    expect(latest.last_job_id).to.equal(fireJobId('n', latest.last_fire_at));
    expect(await other.schedules()).to.deep.equal([{ ...stored!, paused: true, last_fire_at: latest.last_fire_at, last_job_id: latest.last_job_id }]);
    expect(a.schedules.get('n')).to.deep.include({ state: 'paused', last_fire_at: latest.last_fire_at });
    expect(a.errors).to.deep.equal([]);
  });

  it('writes a fire into the row a pause committed while the fire waited for its lock', async () => {
    const schema = freshSchema();
    const store = await databases.open({ schema });
    const row = { name: 'n', spec: spec('0 * * * *'), paused: false, last_fire_at: 1000, last_job_id: 'sched:n:1000' };
    await store.saveSchedule(row);
    const other = await store.pool.connect();
    try {
      await other.query('BEGIN');
      const { pid } = (await other.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!;
      await other.query(`UPDATE ${schema}.schedules SET row = jsonb_set(row, '{paused}', 'true')`);
      const fired = store.saveScheduleFire({ name: 'n', last_fire_at: 2000, last_job_id: 'sched:n:2000' });
      // Asked outside the transaction, whose view of pg_stat_activity stays as it first read it.
      const blocked = async () =>
        (await store.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [pid])).rows[0]!.n === 1;
      await until(blocked, 3000, 'the fire to wait for the lock of the pause');
      await other.query('COMMIT');
      await fired;
    } finally {
      other.release(true); // closed: a failed test leaves no transaction open in the pool
    }
    expect(await store.schedules()).to.deep.equal([{ ...row, paused: true, last_fire_at: 2000, last_job_id: 'sched:n:2000' }]);
  });
});

describe('postgres store: the rate limiter the cluster shares', () => {
  const databases = postgresStores();
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    // Only Date: the limiter's windows are read from it; the database's round trips run on real time.
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
  });
  afterEach(async () => {
    clock.restore();
    await databases.cleanup();
  });

  it("counts a key's points on every instance together, one window for all, and frees them when it ends", async () => {
    const schema = freshSchema();
    const a = (await databases.open({ schema })).shared.rateLimiter(3, 1);
    const b = (await databases.open({ schema })).shared.rateLimiter(3, 1);
    expect((await a.consume('token:x', 2)).remainingPoints).to.equal(1);
    expect((await b.consume('token:x')).remainingPoints).to.equal(0);
    const refusal = (limiter: RateLimiterAbstract) =>
      limiter.consume('token:x').then(
        () => expect.fail('a fourth point in the window was allowed'),
        (res: RateLimiterRes) => [res.consumedPoints, res.msBeforeNext],
      );
    // a counts in the database: the fourth point there.
    expect(await refusal(a)).to.deep.equal([4, 1000]);
    // b, which used the last point, refuses from memory until the window ends (no round trip: nothing counted).
    expect(await refusal(b)).to.deep.equal([0, 1000]);
    // Another key has an allowance of its own.
    expect((await a.consume('token:y')).remainingPoints).to.equal(2);
    clock.tick(1000);
    expect((await a.consume('token:x', 3)).remainingPoints).to.equal(0);
  });

  it('counts in memory while the database is out of reach, rather than refuse every client', async () => {
    const store = await databases.open();
    const limiter = store.shared.rateLimiter(2, 1);
    await store.pool.end();
    expect((await limiter.consume('token:x')).remainingPoints).to.equal(1);
    expect((await limiter.consume('token:x')).remainingPoints).to.equal(0);
    await limiter.consume('token:x').then(
      () => expect.fail('a third point in the window was allowed'),
      (res: RateLimiterRes) => expect(res.msBeforeNext).to.equal(1000),
    );
  });
});

describe('postgres store: leases and fencing', () => {
  const databases = postgresStores();
  afterEach(() => databases.cleanup());

  it('refuses the late write of an instance whose job was taken over, and reports it', async () => {
    const schema = freshSchema();
    const fenced: string[] = [];
    const a = await databases.open({ schema, leaseMs: 5, onFenced: (id) => fenced.push(id) });
    const b = await databases.open({ schema, leaseMs: 30_000 });
    void a.save(record('j', 'queued', { max_retries: 3 }), null, 'new');
    const [claimed] = await a.claim({ limit: 1 });
    const running = { ...claimed!, state: 'running' as const, attempts: 1 };
    void a.save(running, 'queued');
    await a.flush();
    // a pauses past its 5 ms lease; b takes the job over and moves it on.
    await expireLeases(a, schema);
    expect(ids(await b.shared.takeOver())).to.deep.equal(['j']);
    void b.save({ ...running, state: 'backoff', last_error: 'interrupted' }, 'running');
    await b.flush();
    // a wakes up and writes the outcome of its attempt: it changes nothing.
    void a.save({ ...running, state: 'done', finished_at: 9 }, 'running');
    await a.flush();
    expect(fenced).to.deep.equal(['j']);
    const row = await b.pool.query(`SELECT state, owner FROM ${schema}.jobs`);
    expect(row.rows).to.deep.equal([{ state: 'backoff', owner: b.shared.instanceId }]);
  });

  it('hands over as running, its attempt counted, a job claimed by an instance that died before writing its start', async () => {
    const schema = freshSchema();
    const a = await databases.open({ schema });
    const b = await databases.open({ schema });
    void a.save(record('j', 'queued', { max_retries: 3 }), null, 'new');
    void a.save(record('k', 'queued', { max_retries: 3 }), null, 'new');
    // Both kinds of claim: in order, and under a type's concurrency.
    const [claimed] = await a.claim({ limit: 1 });
    expect(claimed!.attempts).to.equal(0);
    expect(ids(await a.claim({ limit: 1, allowances: new Map([['simulated', 1]]) }))).to.deep.equal(['k']);
    await expireLeases(a, schema);
    const taken = await b.shared.takeOver();
    expect(taken.map((job) => [job.id, job.state, job.attempts])).to.deep.equal([['j', 'running', 1], ['k', 'running', 1]]);
    const row = await b.pool.query(`SELECT id, state, attempt, begun, owner, ready_lane FROM ${schema}.jobs ORDER BY id`);
    const owner = b.shared.instanceId;
    expect(row.rows).to.deep.equal([
      { id: 'j', state: 'running', attempt: 1, begun: null, owner, ready_lane: null },
      { id: 'k', state: 'running', attempt: 1, begun: null, owner, ready_lane: null },
    ]);
  });

  it("writes a started job's running record with its outcome when the attempt ends first: one write, not two", async () => {
    const schema = freshSchema();
    const a = await databases.open({ schema });
    void a.save(record('j', 'queued'), null, 'new');
    const [claimed] = await a.claim({ limit: 1 });
    const written: string[][] = [];
    aroundStatement(a, 'jobsvc-upsert', async (run) => {
      const result = await run();
      written.push(result.rows.map((row: { id: string }) => row.id));
      return result;
    });
    const running = { ...claimed!, state: 'running' as const, attempts: 1 };
    void a.save(running, 'queued');
    // Another job's write, committed at once, leaves it in the buffer.
    void a.save(record('k', 'backoff', { attempts: 1 }), 'running');
    await until(() => written.length === 1, 2000, "k's write");
    // Nor does a claim, which writes the jobs put in lanes first, write it.
    expect(await a.claim({ limit: 1 })).to.deep.equal([]);
    void a.save({ ...running, state: 'done' }, 'running');
    await a.flush();
    expect(written).to.deep.equal([['k'], ['j']]);
    const row = await a.pool.query(`SELECT state, record->>'state' AS recorded FROM ${schema}.jobs WHERE id = 'j'`);
    expect(row.rows).to.deep.equal([{ state: 'done', recorded: 'done' }]);
  });

  it('writes a started job\'s running record by itself START_WRITE_DELAY_MS later when nothing else is written', async () => {
    const schema = freshSchema();
    const a = await databases.open({ schema });
    void a.save(record('j', 'queued'), null, 'new');
    const [claimed] = await a.claim({ limit: 1 });
    let upserts = 0;
    aroundStatement(a, 'jobsvc-upsert', (run) => (upserts++, run()));
    // Only the timeouts: the store's commits are set off at setImmediate, and the database answers in real time.
    const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      void a.save({ ...claimed!, state: 'running', attempts: 1 }, 'queued');
      await clock.tickAsync(START_WRITE_DELAY_MS - 1);
      await nextTick();
      expect(upserts).to.equal(0);
      await clock.tickAsync(1);
      await nextTick();
      expect(upserts).to.equal(1);
    } finally {
      clock.restore();
    }
    await a.flush();
    const row = await a.pool.query(`SELECT state FROM ${schema}.jobs`);
    expect(row.rows).to.deep.equal([{ state: 'running' }]);
  });

  it('writes the start of a retry from backoff at once: no claim counted that attempt', async () => {
    const schema = freshSchema();
    const a = await databases.open({ schema });
    void a.save(record('j', 'queued', { max_retries: 1 }), null, 'new');
    const [claimed] = await a.claim({ limit: 1 });
    void a.save({ ...claimed!, state: 'running', attempts: 1 }, 'queued');
    void a.save({ ...claimed!, state: 'backoff', attempts: 1 }, 'running');
    await a.flush();
    let upserts = 0;
    aroundStatement(a, 'jobsvc-upsert', (run) => (upserts++, run()));
    void a.save({ ...claimed!, state: 'running', attempts: 2 }, 'backoff');
    // Set off at the next turn, as any write: not START_WRITE_DELAY_MS later.
    await nextTick();
    await nextTick();
    expect(upserts).to.equal(1);
    // The counts, which no claimed start changes, are read without writing one.
    void a.save(record('k', 'queued'), null, 'new');
    await a.flush();
    void a.save({ ...(await a.claim({ limit: 1 }))[0]!, state: 'running', attempts: 1 }, 'queued');
    expect(await a.counts()).to.include({ queued: 0, running: 2 });
    expect(upserts).to.equal(2);
  });

  it('begins no attempt for a claimed job handed back unstarted: it waits in its lane again', async () => {
    const schema = freshSchema();
    const a = await databases.open({ schema });
    const b = await databases.open({ schema });
    void a.save(record('j', 'queued'), null, 'new');
    const [claimed] = await a.claim({ limit: 1 });
    void a.save(claimed!, 'queued', 'new');
    await a.flush();
    await expireLeases(a, schema);
    expect(await b.shared.takeOver()).to.deep.equal([]);
    const row = await b.pool.query(`SELECT state, attempt, begun, owner, ready_lane FROM ${schema}.jobs`);
    expect(row.rows).to.deep.equal([{ state: 'queued', attempt: 0, begun: null, owner: null, ready_lane: 1 }]);
  });

  it("refuses an attempt's late outcome once another instance took the job over and finished it", async () => {
    const schema = freshSchema();
    const fenced: string[] = [];
    const a = await databases.open({ schema, onFenced: (id) => fenced.push(id) });
    const b = await databases.open({ schema });
    void a.save(record('j', 'queued', { max_retries: 0 }), null, 'new');
    const [claimed] = await a.claim({ limit: 1 });
    const running = { ...claimed!, state: 'running' as const, attempts: 1 };
    void a.save(running, 'queued');
    await a.flush();
    await expireLeases(a, schema);
    await b.shared.takeOver();
    void b.save({ ...running, state: 'failed', last_error: 'interrupted' }, 'running');
    await b.flush();
    // Finished, the row has no owner: a's outcome of the same attempt must still not replace b's.
    void a.save({ ...running, state: 'done' }, 'running');
    await a.flush();
    expect(fenced).to.deep.equal(['j']);
    const row = await b.pool.query(`SELECT state, owner FROM ${schema}.jobs`);
    expect(row.rows).to.deep.equal([{ state: 'failed', owner: null }]);
  });

  it('decides a batch of admissions in order: duplicates in the store and in the batch, the limit, scheduled jobs', async () => {
    const schema = freshSchema();
    const store = await databases.open({ schema });
    void store.save(record('stored', 'done'), null);
    await store.flush();
    // Submitted in one tick: one batch, one round trip. Two places are left under a limit of 2.
    const outcomes = await Promise.all([
      store.shared.admit(record('a', 'queued', { payload: 1 }), 2),
      store.shared.admit(record('a', 'queued', { payload: 2 }), 2),
      store.shared.admit(record('stored', 'queued'), 2),
      store.shared.admit(record('later', 'scheduled', { next_run_at: 5000 }), Number.POSITIVE_INFINITY),
      store.shared.admit(record('b', 'queued'), 2),
      store.shared.admit(record('c', 'queued'), 2),
      store.shared.admit(record('c', 'scheduled', { next_run_at: 5000 }), Number.POSITIVE_INFINITY),
    ]);
    expect(outcomes.map((o) => (o.outcome === 'duplicate' ? `duplicate of ${o.existing.id} ${o.existing.state} ${String(o.existing.payload)}` : o.outcome))).to.deep.equal([
      'admitted',
      'duplicate of a queued 1',
      'duplicate of stored done null',
      'admitted',
      'admitted', // the scheduled job took no place
      'full',
      'admitted', // c was refused as queued: its id is free for the scheduled one
    ]);
    const rows = await store.pool.query(`SELECT id, state, ready_lane, run_at::int FROM ${schema}.jobs ORDER BY seq`);
    expect(rows.rows).to.deep.equal([
      { id: 'stored', state: 'done', ready_lane: null, run_at: null },
      { id: 'a', state: 'queued', ready_lane: 1, run_at: null },
      { id: 'later', state: 'scheduled', ready_lane: null, run_at: 5000 },
      { id: 'b', state: 'queued', ready_lane: 1, run_at: null },
      { id: 'c', state: 'scheduled', ready_lane: null, run_at: 5000 },
    ]);
  });

  it('renews nothing it does not own, and takes over nothing whose lease still runs', async () => {
    const schema = freshSchema();
    const a = await databases.open({ schema });
    const b = await databases.open({ schema });
    void a.save(record('j', 'queued'), null, 'new');
    const [claimed] = await a.claim({ limit: 1 });
    void a.save({ ...claimed!, state: 'running', attempts: 1 }, 'queued');
    await a.flush();
    expect(await b.shared.takeOver()).to.deep.equal([]);
  });
});

describe('postgres store: counters of jobs per type and state', () => {
  const databases = postgresStores();
  afterEach(() => databases.cleanup());

  /** The counts as the table holds them, read the slow way (a claimed job, its record not yet running, runs). */
  async function countedFromRows(store: PostgresStore, schema: string) {
    const rows = await store.pool.query<{ type: string; state: string; n: string }>(
      `SELECT type, CASE WHEN state = 'queued' AND ready_lane IS NULL AND owner IS NOT NULL THEN 'running' ELSE state END AS state,
              count(*) AS n
       FROM ${schema}.jobs GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    return rows.rows.map(({ type, state, n }) => `${type} ${state} ${n}`);
  }
  const summary = (byType: Record<string, Record<string, number>>) =>
    Object.entries(byType)
      .flatMap(([type, counts]) => Object.entries(counts).filter(([, n]) => n > 0).map(([state, n]) => `${type} ${state} ${n}`))
      .sort();

  it('counts inserts, moves between states and deletes written through several connections, folded or not', async () => {
    const schema = freshSchema();
    const a = await databases.open({ schema, retention: 1 });
    const b = await databases.open({ schema, retention: 1 });
    for (const id of ['q1', 'q2', 'q3']) void a.save(record(id, 'queued'), null, 'new');
    void a.save(record('m1', 'queued', { type: 'mail' }), null, 'new');
    await a.flush();
    const claimed = await b.claim({ limit: 2 });
    // A claimed job's attempt has started: it counts as running, not as waiting, before its record says so.
    expect(summary(await a.countsByType())).to.deep.equal(['mail queued 1', 'simulated queued 1', 'simulated running 2']);
    expect(summary(await a.countsByType())).to.deep.equal(await countedFromRows(a, schema));
    for (const job of claimed) void b.save({ ...job, state: 'running', attempts: 1 }, 'queued');
    await b.flush();
    // a's connection counted the inserts, b's the moves: the count is their sum.
    const shards = await a.pool.query<{ n: string }>(`SELECT count(DISTINCT shard) AS n FROM ${schema}.job_counts`);
    expect(Number(shards.rows[0]!.n)).to.be.greaterThan(1);
    expect(summary(await a.countsByType())).to.deep.equal(['mail queued 1', 'simulated queued 1', 'simulated running 2']);
    void b.save({ ...claimed[0]!, state: 'done', attempts: 1 }, 'running');
    void b.save({ ...claimed[1]!, state: 'failed', attempts: 1 }, 'running');
    await b.flush();
    // The commit of finished jobs started b's retention: it keeps one finished record (it deletes the oldest,
    // the done one), then folds every shard into shard 0.
    await b.retain();
    const folded = await a.pool.query(`SELECT shard, type, state, n::int FROM ${schema}.job_counts WHERE n <> 0 ORDER BY type, state`);
    expect(folded.rows).to.deep.equal([
      { shard: 0, type: 'mail', state: 'queued', n: 1 },
      { shard: 0, type: 'simulated', state: 'failed', n: 1 },
      { shard: 0, type: 'simulated', state: 'queued', n: 1 },
    ]);
    expect(summary(await a.countsByType())).to.deep.equal(await countedFromRows(a, schema));
    expect(await a.counts()).to.include({ queued: 2, running: 0, done: 0, failed: 1 });
  });

  it('seeds the counters from the jobs already there when it migrates a database of the version before them', async () => {
    const schema = freshSchema();
    await withTestClient(async (client) => {
      await client.query(`CREATE SCHEMA ${schema}`);
      await client.query(`CREATE TABLE ${schema}.schema_version (version integer NOT NULL)`);
      await client.query(`INSERT INTO ${schema}.schema_version VALUES (2)`);
      await client.query(PG_MIGRATIONS[0]!(schema));
      await client.query(PG_MIGRATIONS[1]!(schema));
      await client.query(
        `INSERT INTO ${schema}.jobs (id, type, state, record)
         VALUES ('a', 'simulated', 'queued', '{}'), ('b', 'simulated', 'done', '{}'), ('c', 'mail', 'done', '{}')`,
      );
    });
    const store = await databases.open({ schema });
    expect(summary(await store.countsByType())).to.deep.equal(['mail done 1', 'simulated done 1', 'simulated queued 1']);
  });
});

describe('postgres store: opening', function () {
  this.timeout(15_000);
  const databases = postgresStores();
  afterEach(() => databases.cleanup());

  it('migrates once when ten instances start together', async () => {
    const schema = freshSchema();
    const stores = await Promise.all(Array.from({ length: 10 }, () => databases.open({ schema, poolSize: 1 })));
    const version = await stores[0]!.pool.query(`SELECT version FROM ${schema}.schema_version`);
    expect(version.rows).to.deep.equal([{ version: PG_MIGRATIONS.length }]);
  });

  it('refuses a database at a newer schema version than the build knows', async () => {
    const schema = freshSchema();
    const first = await databases.open({ schema });
    await first.pool.query(`UPDATE ${schema}.schema_version SET version = 99`);
    const error = await databases.open({ schema }).then(
      () => expect.fail('opened'),
      (e: unknown) => e as StoreOpenError,
    );
    expect(error).to.be.instanceOf(StoreOpenError);
    expect(error.message).to.equal(
      `Cannot open the job store postgres://postgres@127.0.0.1:5432/test: schema ${schema} is at version 99, newer than this build knows (${PG_MIGRATIONS.length}); run a newer build.`,
    );
  });

  it('gives up on a database out of reach after PG_CONNECT_TIMEOUT_MS, naming the host without the password', async () => {
    const started = Date.now();
    const error = await openPostgresStore({
      url: 'postgres://app:s3cret@127.0.0.1:1/jobs',
      schema: 'jobs',
      poolSize: 1,
      retention: 10,
      leaseMs: 1000,
      pollMs: 1000,
      connectTimeoutMs: 300,
    }).then(
      () => expect.fail('opened'),
      (e: unknown) => e as StoreOpenError,
    );
    const waited = Date.now() - started;
    expect(error.message).to.match(
      /^Cannot open the job store postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/jobs: the database at 127\.0\.0\.1:1 did not answer within 300 ms \(PG_CONNECT_TIMEOUT_MS\): /,
    );
    expect(error.message).not.to.include('s3cret');
    expect(waited).to.be.within(300, 3000);
  });

  it('refuses a PG_SCHEMA that is not a plain identifier', async () => {
    const error = await databases.open({ schema: 'x; DROP TABLE y' }).then(
      () => expect.fail('opened'),
      (e: unknown) => e as StoreOpenError,
    );
    expect(error.reason).to.equal('PG_SCHEMA "x; DROP TABLE y" is not a plain lower-case identifier.');
  });
});
