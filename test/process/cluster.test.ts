/**
 * Several instances of the service, as real processes, on one PostgreSQL schema. A task module writes every
 * attempt's start and end to a shared log; the two rules of the cluster are proven from that log and from the
 * records: no attempt of a job runs on two instances at once, and no job reaches `done` twice.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Transition } from '../../src/engine/job-record.js';
import { dropSchemas, freshSchema, TEST_DATABASE_URL, withTestClient } from '../store/postgres-support.js';
import { killAll, REPO_ROOT, startService, waitUntilHealthy, type Child } from './child-service.js';

interface AttemptLine {
  id: string;
  attempt: number;
  instance: string;
  event: 'start' | 'done' | 'failed';
  at: number;
}

const TOTAL = 5000;
const BATCH = 100;

describe('several instances on one PostgreSQL schema (processes)', function () {
  this.timeout(180_000);
  let schema: string;
  let dir: string;
  let attemptLog: string;
  beforeEach(() => {
    schema = freshSchema();
    dir = mkdtempSync(join(tmpdir(), 'cluster-test-'));
    attemptLog = join(dir, 'attempts.log');
    writeFileSync(attemptLog, '');
  });
  afterEach(async () => {
    killAll();
    await dropSchemas([schema]);
    rmSync(dir, { recursive: true, force: true });
  });

  async function startInstance(name: string, env: Record<string, string> = {}): Promise<Child> {
    const child = await startService({
      STORE: TEST_DATABASE_URL,
      PG_SCHEMA: schema,
      TASKS_DIR: join(REPO_ROOT, 'test/process/fixtures/cluster-tasks'),
      DEFAULT_JOB_TYPE: 'logged',
      WORKERS: '8',
      QUEUE_SIZE: '100000',
      JOB_RETENTION: '100000',
      LEASE_MS: '1000',
      PG_POLL_MS: '200',
      BACKOFF_BASE_MS: '10',
      BACKOFF_MAX_MS: '100',
      BACKOFF_JITTER_MS: '10',
      LOG_LEVEL: 'warn',
      ATTEMPT_LOG: attemptLog,
      INSTANCE_NAME: name,
      FAIL_RATE: '0.2',
      ...env,
    });
    await waitUntilHealthy(child, 15_000);
    return child;
  }

  /** Submits `ids` in batches, each batch to the next instance in turn; every item must be admitted. */
  async function submitRoundRobin(instances: Child[], ids: string[], payload: unknown = null) {
    for (let i = 0; i < ids.length; i += BATCH) {
      const target = instances[(i / BATCH) % instances.length]!;
      const jobs = ids.slice(i, i + BATCH).map((id) => ({ id, max_retries: 8, payload }));
      const response = await fetch(target.url('/jobs/batch'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jobs }),
      });
      const body = (await response.json()) as { results: { status: number }[] };
      expect(body.results.map((r) => r.status)).to.deep.equal(jobs.map(() => 202));
    }
  }

  /** Waits until the attempt log shows an attempt started on `instance` and not yet ended. */
  async function untilRunningOn(instance: string, timeoutMs = 30_000) {
    for (const deadline = Date.now() + timeoutMs; ; ) {
      const lines = readFileSync(attemptLog, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as AttemptLine);
      const mine = lines.filter((line) => line.instance === instance);
      if (mine.filter((line) => line.event === 'start').length > mine.filter((line) => line.event !== 'start').length) return;
      if (Date.now() > deadline) expect.fail(`no attempt running on ${instance} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Waits until every job is finished, asking `/stats` (cluster-wide counts) of `instance`. */
  async function untilAllFinished(instance: Child, total: number, timeoutMs = 120_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const stats = (await (await fetch(instance.url('/stats'))).json()) as { states: Record<string, number> };
      if (stats.states.done + stats.states.failed === total) return stats.states;
      if (Date.now() > deadline) expect.fail(`not finished within ${timeoutMs} ms: ${JSON.stringify(stats.states)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** The two rules, from the attempt log and from each job's history in the database. */
  async function expectOneOwnerAtATime(killedAt: Record<string, number>, killed = true) {
    const lines = readFileSync(attemptLog, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as AttemptLine);
    const attempts = new Map<string, { instance: string; start: number; end: number }[]>();
    const open = new Map<string, { instance: string; start: number }>();
    for (const line of lines) {
      const key = `${line.id}#${line.attempt}#${line.instance}`;
      if (line.event === 'start') open.set(key, { instance: line.instance, start: line.at });
      else {
        const started = open.get(key)!;
        open.delete(key);
        attempts.set(line.id, [...(attempts.get(line.id) ?? []), { ...started, end: line.at }]);
      }
    }
    // An attempt a SIGKILL cut short ran until the kill, at the latest. There must be some, or the kill
    // came too late to test a takeover.
    if (killed) expect(open.size, 'attempts the kill cut short').to.be.above(0);
    for (const [key, started] of open) {
      const id = key.split('#')[0]!;
      const end = killedAt[started.instance];
      expect(end, `attempt ${key} never ended, on an instance that was not killed`).to.be.a('number');
      attempts.set(id, [...(attempts.get(id) ?? []), { ...started, end: end! }]);
    }
    let overlaps = 0;
    for (const runs of attempts.values()) {
      runs.sort((a, b) => a.start - b.start);
      for (let i = 1; i < runs.length; i++) if (runs[i]!.start < runs[i - 1]!.end) overlaps++;
    }
    expect(overlaps, 'attempts of one job that overlapped').to.equal(0);

    const rows = await withTestClient((client) =>
      client.query<{ history: Transition[] }>(`SELECT record->'history' AS history FROM ${schema}.jobs`),
    );
    const doneTwice = rows.rows.filter((row) => row.history.filter((t) => t.to === 'done').length > 1);
    expect([rows.rows.length, doneTwice.length]).to.deep.equal([TOTAL, 0]);
  }

  it('finishes every job when one of three instances is killed midway, never running an attempt twice at once', async () => {
    const instances = [await startInstance('a'), await startInstance('b'), await startInstance('c')];
    const ids = Array.from({ length: TOTAL }, (_, i) => `job-${i}`);
    const killedAt: Record<string, number> = {};
    const submitting = submitRoundRobin(instances.slice(0, 2), ids.slice(0, TOTAL / 2));
    // c gets its share and runs jobs, then dies mid-flight without a word: killed while attempts of its own run
    // (its jobs take 200 ms each, so it is still working through them).
    await submitRoundRobin([instances[2]!], ids.slice(TOTAL / 2, (3 * TOTAL) / 4), { work_ms: 200 });
    await untilRunningOn('c');
    instances[2]!.process.kill('SIGKILL');
    killedAt.c = Date.now();
    await submitting;
    await submitRoundRobin(instances.slice(0, 2), ids.slice((3 * TOTAL) / 4));
    const states = await untilAllFinished(instances[0]!, TOTAL);
    expect(states.queued + states.running + states.backoff).to.equal(0);
    await expectOneOwnerAtATime(killedAt);
  });

  it('loses nothing in a rolling restart under load: each instance in turn stops gracefully and starts again', async () => {
    const instances = [await startInstance('a'), await startInstance('b'), await startInstance('c')];
    const ids = Array.from({ length: TOTAL }, (_, i) => `job-${i}`);
    const fifth = TOTAL / 5;
    await submitRoundRobin(instances, ids.slice(0, fifth));
    for (let i = 0; i < instances.length; i++) {
      const stopping = instances[i]!;
      const others = instances.filter((other) => other !== stopping);
      stopping.process.kill('SIGTERM');
      // Load goes on meanwhile, on the other two.
      await submitRoundRobin(others, ids.slice(fifth * (i + 1), fifth * (i + 2) - fifth / 2));
      expect(await stopping.exited).to.deep.equal({ code: 0, signal: null });
      instances[i] = await startInstance(['a', 'b', 'c'][i]!);
      await submitRoundRobin(instances, ids.slice(fifth * (i + 2) - fifth / 2, fifth * (i + 2)));
    }
    await submitRoundRobin(instances, ids.slice(fifth * 4));
    const states = await untilAllFinished(instances[0]!, TOTAL);
    expect(states.queued + states.running + states.backoff).to.equal(0);
    await expectOneOwnerAtATime({}, false);
  });

  it('gives a client one RATE_LIMIT_PER_S allowance across the instances, not one on each', async () => {
    const instances = [await startInstance('a', { RATE_LIMIT_PER_S: '3' }), await startInstance('b', { RATE_LIMIT_PER_S: '3' })];
    await submitRoundRobin([instances[0]!], ['r1', 'r2', 'r3']);
    // b has counted nothing of its own: the three points were spent through a, in the database.
    const refused = await fetch(instances[1]!.url('/jobs'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'r4' }),
    });
    expect([refused.status, refused.headers.get('retry-after'), await refused.json()]).to.deep.equal([
      429,
      '1',
      {
        error: {
          code: 'rate_limited',
          message: 'Too many submissions: this client may submit 3 jobs a second (RATE_LIMIT_PER_S); retry in 1 s.',
          details: { limit_per_second: 3, retry_after_seconds: 1 },
        },
      },
    ]);
  });

  it('recovers by itself when the database restarts under load: every acknowledged job is kept and finishes', async () => {
    const instances = [await startInstance('a'), await startInstance('b')];
    const acknowledged: string[] = [];
    let refused = 0;
    let next = 0;
    let stop = false;
    /** One submission after another, alternating instances, until `stop`; a 202 is an acknowledged job. */
    const load = (async () => {
      while (!stop) {
        const id = `job-${next++}`;
        try {
          const response = await fetch(instances[next % 2]!.url('/jobs'), {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ id, max_retries: 8 }),
          });
          if (response.status === 202) acknowledged.push(id);
          else refused++;
          await response.arrayBuffer();
        } catch {
          refused++;
        }
      }
    })();
    /** Every readiness instance a reported while the load ran. */
    const readiness = new Set<string>();
    const probing = (async () => {
      while (!stop) {
        try {
          readiness.add(((await (await fetch(instances[0]!.url('/readyz'))).json()) as { status: string }).status);
        } catch {
          readiness.add('unreachable');
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    const until = async (count: number) => {
      while (acknowledged.length < count) await new Promise((resolve) => setTimeout(resolve, 20));
    };
    await until(300);
    // Not execFileSync: the load goes on while the database restarts.
    await promisify(execFile)('pg_ctlcluster', ['--skip-systemctl-redirect', clusterVersion(), 'main', 'restart']);
    const afterRestart = acknowledged.length;
    // Neither instance restarts: both take submissions again by themselves.
    await until(afterRestart + 300);
    stop = true;
    await Promise.all([load, probing]);
    // The outage showed on /readyz (503 storage_unavailable), and passed by itself.
    expect([...readiness].sort()).to.deep.equal(['ready', 'storage_unavailable']);
    // The outage was seen: submissions in it were refused (503 storage_unavailable), not acknowledged.
    expect(refused, 'submissions refused during the restart').to.be.above(0);
    await withTestClient(async (client) => {
      for (const deadline = Date.now() + 60_000; ; ) {
        const rows = await client.query<{ state: string; n: string }>(
          `SELECT state, count(*) AS n FROM ${schema}.jobs WHERE id = ANY($1::text[]) GROUP BY state`,
          [acknowledged],
        );
        const finished = rows.rows.filter((r) => r.state === 'done' || r.state === 'failed').reduce((n, r) => n + Number(r.n), 0);
        if (finished === acknowledged.length) break;
        if (Date.now() > deadline) expect.fail(`${finished} of ${acknowledged.length} acknowledged jobs finished: ${JSON.stringify(rows.rows)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    });
    for (const instance of instances) {
      expect(instance.process.exitCode, `an instance exited; stderr:\n${instance.stderr()}\n${instance.stdout().slice(-3000)}`).to.equal(null);
    }
    const ready = await Promise.all(instances.map(async (instance) => (await fetch(instance.url('/readyz'))).status));
    expect(ready).to.deep.equal([200, 200]);
    expect(instances.map((instance) => instance.process.exitCode)).to.deep.equal([null, null]);
  });
});

/** The version of the local PostgreSQL cluster (the one folder in /etc/postgresql). */
function clusterVersion(): string {
  return readdirSync('/etc/postgresql')[0]!;
}
