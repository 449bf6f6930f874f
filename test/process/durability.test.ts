/**
 * The durable store, end to end: the service runs as a child process on a SQLite file in a temp directory,
 * is killed or stopped, and starts again on the same file. Real processes and real time, kept short.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  exitWithin,
  killAll,
  startService,
  submit,
  waitUntilHealthy,
  type Child,
  type LogLine,
} from './child-service.js';

interface JobView {
  id: string;
  state: string;
  attempts: number;
  last_error: string | null;
}

interface TransitionView {
  event: string;
  from: string | null;
  to: string;
  attempt: number;
  error: string | null;
}

async function getJson<T>(child: Child, path: string): Promise<T> {
  const response = await fetch(child.url(path));
  expect(response.status, path).to.equal(200);
  return (await response.json()) as T;
}

/** Polls `GET /stats` until `done + failed` reaches `count`. */
async function untilFinished(child: Child, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { states } = await getJson<{ states: Record<string, number> }>(child, '/stats');
    if (states.done! + states.failed! >= count) return;
    if (Date.now() > deadline) throw new Error(`not finished within ${timeoutMs} ms: ${JSON.stringify(states)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function submitAll(child: Child, ids: string[], maxRetries: number) {
  for (const id of ids) {
    const { status, body } = await submit(child, { id, payload: { id }, max_retries: maxRetries });
    expect(status, JSON.stringify(body)).to.equal(202);
  }
}

const listening = (line: LogLine) => line.msg === 'listening';

describe('process: the durable store', function () {
  this.timeout(60_000);
  let dir: string;
  let store: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'durability-test-'));
    store = join(dir, 'jobs.db');
  });
  afterEach(() => {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('after SIGKILL mid-run, a restart on the same file finishes all 200 jobs; only the interrupted attempts run again', async () => {
    const env = {
      STORE: `sqlite:${store}`,
      WORKERS: '8',
      QUEUE_SIZE: '1000',
      WORK_MIN_MS: '300',
      WORK_MAX_MS: '300',
      FAILURE_RATE: '0',
      BACKOFF_BASE_MS: '10',
      BACKOFF_JITTER_MS: '0',
    };
    const ids = Array.from({ length: 200 }, (_, i) => `job-${String(i).padStart(3, '0')}`);
    const first = await startService(env);
    await waitUntilHealthy(first);
    await submitAll(first, ids, 1);
    // Mid-run: some jobs done, most not (8 workers need 25 rounds of 300 ms for all 200).
    await first.waitForLine((line) => line.msg === 'job done', 5000);
    first.process.kill('SIGKILL');
    expect((await exitWithin(first, 5000)).signal).to.equal('SIGKILL');
    const doneBefore = new Set(first.lines.filter((line) => line.msg === 'job done').map((line) => line.job_id));

    // More workers now, so the rest goes quickly; the interrupted attempts were at most the first's 8.
    const second = await startService({ ...env, WORKERS: '64' });
    await waitUntilHealthy(second);
    const { restored } = await second.waitForLine(listening);
    // What the first logged as done is on disk, but for the last commit, which the kill may have cut off.
    expect(restored).to.be.within(200 - doneBefore.size, 200 - doneBefore.size + 8);
    await untilFinished(second, 200, 30_000);

    const { jobs } = await getJson<{ jobs: JobView[] }>(second, '/jobs?limit=1000');
    expect(jobs.map((job) => job.id).sort()).to.deep.equal(ids); // none lost, none added
    const interrupted: string[] = [];
    for (const job of jobs) {
      expect(job.state, job.id).to.equal('done');
      const { transitions } = await getJson<{ transitions: TransitionView[] }>(second, `/jobs/${job.id}/history`);
      const starts = transitions.filter((t) => t.to === 'running' && t.from !== 'running');
      // Every attempt started is on the record, once.
      expect(starts.map((t) => t.attempt), job.id).to.deep.equal(Array.from({ length: job.attempts }, (_, i) => i + 1));
      const restarts = transitions.filter((t) => t.event === 'RESTORED');
      expect(restarts.length, job.id).to.be.at.most(1);
      if (restarts[0]?.from === 'running') {
        // Interrupted mid-attempt: that attempt counts as failed, and the retry is the only one run again.
        expect(restarts[0]).to.include({ to: 'backoff', error: 'interrupted', attempt: 1 });
        expect(job.attempts, job.id).to.equal(2);
        interrupted.push(job.id);
      } else {
        expect(job.attempts, job.id).to.equal(1);
      }
    }
    // Only the attempts in flight at the kill ran twice: at most one per worker of the first process.
    expect(interrupted.length).to.be.within(1, 8);

    second.process.kill('SIGTERM');
    expect((await exitWithin(second, 10_000)).code, second.stderr()).to.equal(0);
  });

  it('SIGTERM with queued jobs exits 0 quickly, without draining; the next start finishes them', async () => {
    const env = {
      STORE: `sqlite:${store}`,
      WORKERS: '2',
      WORK_MIN_MS: '400',
      WORK_MAX_MS: '400',
      FAILURE_RATE: '0',
    };
    const ids = Array.from({ length: 20 }, (_, i) => `job-${String(i).padStart(2, '0')}`);
    const first = await startService(env);
    await waitUntilHealthy(first);
    await submitAll(first, ids, 0);
    const signalledAt = Date.now();
    first.process.kill('SIGTERM');
    const { code } = await exitWithin(first, 10_000);
    expect(code, first.stderr()).to.equal(0);
    // A drain would take 10 rounds of 400 ms; this waits for the two running attempts only.
    expect(Date.now() - signalledAt).to.be.below(2500);
    expect(first.lines.filter((line) => line.level === 'warn')).to.deep.equal([]);
    const doneBefore = first.lines.filter((line) => line.msg === 'job done').map((line) => line.job_id);
    // The two attempts running at the signal (a few more if the submissions were slow), not the 20.
    expect(doneBefore.length).to.be.within(2, 8);
    expect(first.lines.map((line) => line.msg)).to.include.members([
      'running attempts finished',
      'queued and backoff jobs wait in the store for the next start',
      'job store closed: every record written',
    ]);

    const second = await startService({ ...env, WORKERS: '20' });
    await waitUntilHealthy(second);
    expect((await second.waitForLine(listening)).restored).to.equal(20 - doneBefore.length);
    await untilFinished(second, 20, 10_000);
    const { jobs } = await getJson<{ jobs: JobView[] }>(second, '/jobs?limit=100');
    expect(jobs.map((job) => [job.state, job.attempts, job.last_error])).to.deep.equal(ids.map(() => ['done', 1, null]));
    second.process.kill('SIGTERM');
    expect((await exitWithin(second, 10_000)).code, second.stderr()).to.equal(0);
  });

  it('past SHUTDOWN_TIMEOUT_MS aborts the running attempts and exits 0; they resume as interrupted', async () => {
    const env = {
      STORE: `sqlite:${store}`,
      WORKERS: '2',
      WORK_MIN_MS: '5000',
      WORK_MAX_MS: '5000',
      SHUTDOWN_TIMEOUT_MS: '200',
      FAILURE_RATE: '0',
      BACKOFF_BASE_MS: '10',
      BACKOFF_JITTER_MS: '0',
    };
    const first = await startService(env);
    await waitUntilHealthy(first);
    await submitAll(first, ['slow-1', 'slow-2', 'waits'], 1);
    first.process.kill('SIGTERM');
    expect((await exitWithin(first, 4000)).code, first.stderr()).to.equal(0);
    const aborted = first.lines.filter((line) => line.msg.startsWith('attempt aborted'));
    expect(aborted.map((line) => [line.level, line.job_id]).sort()).to.deep.equal([
      ['warn', 'slow-1'],
      ['warn', 'slow-2'],
    ]);

    const second = await startService({ ...env, WORK_MIN_MS: '10', WORK_MAX_MS: '10' });
    await waitUntilHealthy(second);
    await untilFinished(second, 3, 10_000);
    const { jobs } = await getJson<{ jobs: JobView[] }>(second, '/jobs');
    expect(jobs.map((job) => [job.id, job.state, job.attempts])).to.deep.equal([
      ['waits', 'done', 1],
      ['slow-2', 'done', 2],
      ['slow-1', 'done', 2],
    ]);
    const { transitions } = await getJson<{ transitions: TransitionView[] }>(second, '/jobs/slow-1/history');
    expect(transitions.map((t) => `${t.from}→${t.to} ${t.event} ${t.error}`)).to.deep.equal([
      'null→queued SUBMIT null',
      'queued→running SLOT_GRANTED null',
      'running→backoff RESTORED interrupted',
      'backoff→running SLOT_GRANTED null',
      'running→done ATTEMPT_SUCCEEDED null',
    ]);
  });

  it('a corrupt file: exit code 2 and one line naming the file; the file is left as it was', async () => {
    const bytes = randomBytes(32 * 1024);
    writeFileSync(store, bytes);
    const child = await startService({ STORE: `sqlite:${store}` });
    const { code } = await exitWithin(child, 10_000);
    expect(code, child.stderr()).to.equal(2);
    const lines = child.stderr().trimEnd().split('\n');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(new RegExp(`^Cannot open the job store ${store}: the file is corrupt or not a SQLite database`));
    expect(child.stdout()).to.equal('');
    expect(readFileSync(store).equals(bytes)).to.equal(true);
  });

  it('a file another running instance holds: exit code 2 and one line naming the file', async () => {
    const first = await startService({ STORE: `sqlite:${store}` });
    await waitUntilHealthy(first);
    const second = await startService({ STORE: `sqlite:${store}` });
    const { code } = await exitWithin(second, 10_000);
    expect(code, second.stderr()).to.equal(2);
    expect(second.stderr()).to.equal(
      `Cannot open the job store ${store}: another running instance holds its lock (SQLITE_BUSY). ` +
        'Stop that instance, or give this one another STORE file.\n',
    );
    // The first is unharmed, and stops cleanly.
    expect((await fetch(first.url('/healthz'))).status).to.equal(200);
    first.process.kill('SIGTERM');
    expect((await exitWithin(first, 10_000)).code, first.stderr()).to.equal(0);
  });
});
