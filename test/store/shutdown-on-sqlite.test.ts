/**
 * The shutdown of the service (`startEngine`, the same `close` as the HTTP service's) on a SQLite store whose
 * disk is full: the file may not grow by a single page (`max_page_count`), as in the store's own tests.
 * Fake timers for the deadline and the write retries; the store's commits run on setImmediate, which the fake
 * clock leaves real.
 */
import { expect } from 'chai';
import sinon from 'sinon';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startEngine } from '../../src/server.js';
import { manualProcessor } from '../helpers/processors.js';
import { fillDisk, settle, tempFiles } from './support.js';

/** A result too large for the full disk: the record of the job that returns it cannot be written. */
const LARGE = 'x'.repeat(20_000);

/**
 * The lines above info of a shutdown that stopped waiting because writes failed, with one attempt held back: the
 * outage's own line (once, however many commits fail), then the shutdown's.
 */
const STALLED_SHUTDOWN_LINES = [
  ['error', 'job store: commits are failing; submissions are refused with 503 storage_unavailable until one succeeds'],
  ['error', 'writes are failing and no attempt is running: stopped waiting for the attempts that wait for a write'],
  ['warn', 'attempt never started; the job resumes as last written at the next start'],
  ['error', 'job store: the final write failed'],
];

describe('a durable shutdown on a full disk', () => {
  const files = tempFiles();
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(async () => {
    sinon.restore();
    await files.cleanup();
  });

  async function start(workers: number) {
    const path = files.path();
    const store = files.open({ path });
    const lines: { level: string; msg: string; [field: string]: unknown }[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) });
    const config = loadConfig({ WORKERS: String(workers), QUEUE_SIZE: '4', SHUTDOWN_TIMEOUT_MS: '30000' });
    const work = manualProcessor();
    const engine = await startEngine(config, logger, { store, processor: work.processor });
    const submit = (id: string, payload: unknown = null) => engine.queue.submit({ id, payload, max_retries: 0 });
    /** The shutdown's report, and the fake time it came at (null while it has not). */
    const close = () => {
      const closing = { report: engine.close(), at: null as number | null };
      void closing.report.then(() => (closing.at = Date.now()));
      return closing;
    };
    const warnings = () => lines.filter((line) => line.level !== 'info').map((line) => [line.level, line.msg]);
    /** What the file holds for the next start: the unfinished jobs, then the ones a claim takes first. */
    const onDisk = async () => {
      const reopened = files.open({ path });
      const unfinished = (await reopened.unfinished()).map((r) => [r.id, r.state]);
      const claimable = (await reopened.claim({ limit: 10 })).map((r) => r.id);
      return { unfinished, claimable };
    };
    return { store, engine, work, submit, close, warnings, onDisk };
  }

  // A claim writes nothing itself: the write an attempt waits for is the next group commit, which holds the
  // job's own `running` record, too large for the full disk when its payload is, and whatever else the tick saved.

  it('with no processor running, stops waiting as soon as the final write fails, and exits 1', async () => {
    const { store, engine, work, submit, close, warnings, onDisk } = await start(1);
    await submit('a');
    await submit('b', LARGE);
    await submit('c');
    await settle(clock);
    expect(work.calls.map((call) => call.job.id)).to.deep.equal(['a']);
    fillDisk(store);
    // b takes a's slot, and b's attempt waits for the write of its `running` record before it starts.
    work.latest('a').resolve(null);
    await settle(clock);
    expect((await engine.queue.get('b'))!.state).to.equal('running');
    expect(work.calls.map((call) => call.job.id)).to.deep.equal(['a']);

    const closing = close();
    await settle(clock);

    expect(closing.at).to.equal(0); // no time passed: not SHUTDOWN_TIMEOUT_MS (30 s)
    expect(await closing.report).to.deep.equal({
      unfinished: [{ id: 'b', state: 'running' }, { id: 'c', state: 'queued' }],
      forced: false,
      exitCode: 1,
    });
    expect(work.calls.map((call) => call.job.id)).to.deep.equal(['a']); // b's attempt never started
    expect(warnings()).to.deep.equal(STALLED_SHUTDOWN_LINES);
    // Every acknowledged job is on disk. a's outcome went in the same commit as b's `running` record, and is
    // lost with it: a resumes as interrupted (and may run again), b as it was last written, queued, at its place.
    expect(await onDisk()).to.deep.equal({
      unfinished: [['a', 'running'], ['b', 'queued'], ['c', 'queued']],
      claimable: ['b', 'c'],
    });
  });

  it('waits for a processor still running, then stops waiting once the final write fails, and exits 1', async () => {
    const { store, work, submit, close, warnings, onDisk } = await start(2);
    await submit('a');
    await submit('b');
    await submit('c', LARGE);
    await settle(clock);
    expect(work.calls.map((call) => call.job.id)).to.deep.equal(['a', 'b']);
    fillDisk(store);
    work.latest('a').resolve(null); // c takes a's slot, and waits for the write
    await settle(clock);

    const closing = close();
    await settle(clock);
    await clock.tickAsync(10_000);
    expect(closing.at).to.equal(null); // b's processor may still finish, and its outcome may still be written
    work.latest('b').resolve(null);
    await settle(clock);

    expect(closing.at).to.equal(10_000);
    expect(await closing.report).to.deep.equal({
      unfinished: [{ id: 'c', state: 'running' }],
      forced: false,
      exitCode: 1,
    });
    expect(work.calls.map((call) => call.job.id)).to.deep.equal(['a', 'b']);
    expect(warnings()).to.deep.equal(STALLED_SHUTDOWN_LINES);
    // a's and b's outcomes are not on disk: they resume as interrupted at the next start, and may run again.
    expect(await onDisk()).to.deep.equal({
      unfinished: [['a', 'running'], ['b', 'running'], ['c', 'queued']],
      claimable: ['c'],
    });
  });

  it('claims the next job while the outcome before it cannot be written, but never starts its attempt', async () => {
    const { store, engine, work, submit, close, warnings, onDisk } = await start(1);
    for (const id of ['a', 'b', 'c']) await submit(id);
    await settle(clock);
    fillDisk(store);
    // a's `done` cannot be written (its result is too large); b is claimed, and its attempt waits for that write.
    work.latest('a').resolve(LARGE);
    await settle(clock);
    await clock.tickAsync(1000);
    expect((await engine.queue.get('b'))!.state).to.equal('running');
    expect(work.calls.map((call) => call.job.id)).to.deep.equal(['a']);

    const closing = close();
    await settle(clock);

    expect(closing.at).to.equal(1000); // no time passed since the close
    expect(await closing.report).to.deep.equal({
      unfinished: [{ id: 'b', state: 'running' }, { id: 'c', state: 'queued' }],
      forced: false,
      exitCode: 1,
    });
    expect(work.calls.map((call) => call.job.id)).to.deep.equal(['a']);
    expect(warnings()).to.deep.equal(STALLED_SHUTDOWN_LINES);
    // a's outcome is not on disk: a resumes as interrupted, and may run again. b and c wait in their lane.
    expect(await onDisk()).to.deep.equal({
      unfinished: [['a', 'running'], ['b', 'queued'], ['c', 'queued']],
      claimable: ['b', 'c'],
    });
  });
});
