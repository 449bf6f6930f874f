/**
 * Graceful shutdown, end to end: the service runs as a child process, gets jobs over HTTP, then a signal.
 * Real processes and real time, kept short: work takes tens of milliseconds, or 5 s when a test needs jobs
 * that cannot finish before the deadline.
 */
import { expect } from 'chai';
import {
  exitWithin,
  killAll,
  refusesConnections,
  splitRequest,
  startService,
  submit,
  waitUntilHealthy,
  type Child,
  type LogLine,
} from './child-service.js';

const isFinalOutcome = (line: LogLine) => line.msg === 'job done' || line.msg === 'job failed';

async function submitAll(child: Child, ids: string[]) {
  for (const id of ids) {
    const { status, body } = await submit(child, { id, payload: { n: id }, max_retries: 2 });
    expect(status, JSON.stringify(body)).to.equal(202);
  }
}

describe('process: graceful shutdown', function () {
  this.timeout(20_000);
  afterEach(killAll);

  it('on SIGTERM runs every queued, running and backoff job to an end, then exits 0', async () => {
    const child = await startService({
      WORKERS: '2',
      WORK_MIN_MS: '40',
      WORK_MAX_MS: '80',
      FAILURE_RATE: '0.3',
      BACKOFF_BASE_MS: '20',
      BACKOFF_JITTER_MS: '20',
    });
    await waitUntilHealthy(child);
    const ids = Array.from({ length: 8 }, (_, i) => `job-${i}`);
    await submitAll(child, ids);

    child.process.kill('SIGTERM');
    const { code } = await exitWithin(child, 10_000);

    expect(code, child.stderr()).to.equal(0);
    const finished = child.lines.filter(isFinalOutcome);
    expect(finished.map((line) => line.job_id).sort()).to.deep.equal(ids);
    for (const line of finished) expect(line.attempts).to.be.within(1, 3);
    expect(child.lines.filter((line) => line.level === 'warn')).to.deep.equal([]);
    expect(child.lines.map((line) => line.msg)).to.include.members([
      'queue drained: every job finished',
      'server closed',
    ]);
  });

  it('while draining: refuses new connections; requests in flight get readyz 503 and submit 503', async () => {
    const child = await startService({ WORKERS: '1', WORK_MIN_MS: '300', WORK_MAX_MS: '300', FAILURE_RATE: '0' });
    await waitUntilHealthy(child);
    await submitAll(child, ['busy']);
    const readyz = splitRequest(child, 'GET', '/readyz');
    const enqueue = splitRequest(child, 'POST', '/enqueue', { id: 'late', payload: null });
    await readyz.start();
    await enqueue.start();
    // Let the server read both heads: a connection whose request has not started counts as idle, and is closed.
    await new Promise((resolve) => setTimeout(resolve, 200));

    child.process.kill('SIGTERM');
    await child.waitForLine((line) => line.msg === 'shutting down: stopped accepting connections, draining the queue');

    expect(await refusesConnections(child)).to.equal(true);
    expect(await readyz.finish()).to.deep.equal({ status: 503, body: '{"status":"draining"}' });
    const refused = await enqueue.finish();
    expect(refused.status).to.equal(503);
    expect(JSON.parse(refused.body)).to.have.nested.property('error.code', 'shutting_down');
    expect((await exitWithin(child, 10_000)).code, child.stderr()).to.equal(0);
    expect(child.lines.filter(isFinalOutcome).map((line) => line.job_id)).to.deep.equal(['busy']);
  });

  it('logs the submissions at info, with the job id', async () => {
    const child = await startService({ WORK_MIN_MS: '10', WORK_MAX_MS: '20', FAILURE_RATE: '0' });
    await waitUntilHealthy(child);
    await submitAll(child, ['a', 'b']);

    child.process.kill('SIGTERM');
    expect((await exitWithin(child, 10_000)).code).to.equal(0);

    const submitted = child.lines.filter((line) => line.msg === 'job submitted');
    expect(submitted.map((line) => [line.level, line.job_id, line.attempts])).to.deep.equal([
      ['info', 'a', 0],
      ['info', 'b', 0],
    ]);
    const done = child.lines.filter((line) => line.msg === 'job done');
    expect(done.map((line) => [line.level, line.job_id, line.attempts]).sort()).to.deep.equal([
      ['info', 'a', 1],
      ['info', 'b', 1],
    ]);
  });

  it('past SHUTDOWN_TIMEOUT_MS prints every unfinished id at warn, seen at LOG_LEVEL=warn, and exits 1', async () => {
    const child = await startService({
      LOG_LEVEL: 'warn',
      WORKERS: '2',
      WORK_MIN_MS: '5000',
      WORK_MAX_MS: '5000',
      SHUTDOWN_TIMEOUT_MS: '200',
    });
    await waitUntilHealthy(child);
    await submitAll(child, ['slow-1', 'slow-2', 'slow-3', 'slow-4']);

    const signalledAt = Date.now();
    child.process.kill('SIGTERM');
    const { code } = await exitWithin(child, 4000);

    expect(code, child.stderr()).to.equal(1);
    expect(Date.now() - signalledAt).to.be.below(4000);
    const unfinished = child.lines.filter((line) => line.msg === 'job left unfinished');
    expect(unfinished.map((line) => [line.level, line.job_id, line.state]).sort()).to.deep.equal([
      ['warn', 'slow-1', 'running'],
      ['warn', 'slow-2', 'running'],
      ['warn', 'slow-3', 'queued'],
      ['warn', 'slow-4', 'queued'],
    ]);
    expect(child.lines.every((line) => line.level === 'warn' || line.level === 'error')).to.equal(true);
  });

  it('the same signal again within 300 ms is a relayed copy (npm start and Ctrl-C): the drain goes on', async () => {
    const child = await startService({ WORKERS: '1', WORK_MIN_MS: '300', WORK_MAX_MS: '300', FAILURE_RATE: '0' });
    await waitUntilHealthy(child);
    await submitAll(child, ['x']);

    child.process.kill('SIGINT');
    // Sent once the first is handled (two signals pending at once would merge into one), well within 300 ms.
    await child.waitForLine((line) => line.msg === 'signal received');
    child.process.kill('SIGINT');
    const { code } = await exitWithin(child, 5000);

    expect(code, child.stderr()).to.equal(0);
    expect(child.lines.filter((line) => line.msg === 'signal received')).to.have.length(1);
    expect(child.lines.map((line) => line.msg)).to.include('queue drained: every job finished');
  });

  it('a second signal stops at once, with the same report, and exits 1', async () => {
    const child = await startService({
      WORKERS: '1',
      WORK_MIN_MS: '5000',
      WORK_MAX_MS: '5000',
      SHUTDOWN_TIMEOUT_MS: '60000',
    });
    await waitUntilHealthy(child);
    await submitAll(child, ['x', 'y']);

    child.process.kill('SIGINT');
    await child.waitForLine((line) => line.msg === 'shutting down: stopped accepting connections, draining the queue');
    child.process.kill('SIGTERM');
    const { code } = await exitWithin(child, 3000);

    expect(code, child.stderr()).to.equal(1);
    const unfinished = child.lines.filter((line) => line.msg === 'job left unfinished');
    expect(unfinished.map((line) => [line.level, line.job_id, line.state])).to.deep.equal([
      ['warn', 'x', 'running'],
      ['warn', 'y', 'queued'],
    ]);
  });
});
