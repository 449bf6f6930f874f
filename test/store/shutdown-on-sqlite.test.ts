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

/** The lines above info of a shutdown that stopped waiting because writes failed, with one attempt held back. */
const STALLED_SHUTDOWN_LINES = [
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
    const submit = (id: string) => engine.queue.submit({ id, payload: null, max_retries: 0 });
    /** The shutdown's report, and the fake time it came at (null while it has not). */
    const close = () => {
      const closing = { report: engine.close(), at: null as number | null };
      void closing.report.then(() => (closing.at = Date.now()));
      return closing;
    };
    const warnings = () => lines.filter((line) => line.level !== 'info').map((line) => [line.level, line.msg]);
    return { path, store, engine, work, submit, close, warnings };
  }

  it('with no processor running, stops waiting as soon as the final write fails, and exits 1', async () => {
    const { path, store, engine, work, submit, close, warnings } = await start(1);
    for (const id of ['a', 'b', 'c']) await submit(id);
    await settle(clock);
    expect(work.calls.map((call) => call.job.id)).to.deep.equal(['a']);
    fillDisk(store);
    // a's `done` cannot be written; b takes its slot, and b's attempt waits for that write before it starts.
    work.latest('a').resolve(LARGE);
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
    // Every acknowledged job is on disk. a's outcome is not: a resumes as interrupted, and may run again.
    const reopened = files.open({ path });
    expect((await reopened.unfinished()).map((r) => [r.id, r.state])).to.deep.equal([
      ['a', 'running'],
      ['b', 'queued'],
      ['c', 'queued'],
    ]);
    // b was claimed and never started: it waits in its lane again, before c.
    expect((await reopened.claim({ limit: 10 })).map((r) => r.id)).to.deep.equal(['b', 'c']);
  });

  it('waits for a processor still running, then stops waiting once the final write fails, and exits 1', async () => {
    const { path, store, work, submit, close, warnings } = await start(2);
    for (const id of ['a', 'b', 'c']) await submit(id);
    await settle(clock);
    expect(work.calls.map((call) => call.job.id)).to.deep.equal(['a', 'b']);
    fillDisk(store);
    work.latest('a').resolve(LARGE); // c takes a's slot, and waits for the write
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
    const reopened = files.open({ path });
    expect((await reopened.unfinished()).map((r) => [r.id, r.state])).to.deep.equal([
      ['a', 'running'],
      ['b', 'running'],
      ['c', 'queued'],
    ]);
    // c was claimed and never started: it waits in its lane again.
    expect((await reopened.claim({ limit: 10 })).map((r) => r.id)).to.deep.equal(['c']);
  });
});
