/**
 * Job types in the real process: a start that cannot load them exits 2 with one line per problem, and a
 * thread-isolated CPU-bound task leaves the event loop free to answer.
 */
import { expect } from 'chai';
import { exitWithin, killAll, startService, waitUntilHealthy } from './child-service.js';

describe('process: job types', function () {
  this.timeout(30_000);
  afterEach(killAll);

  const refusedStart = async (env: Record<string, string>) => {
    const child = await startService(env);
    const { code } = await exitWithin(child, 15_000);
    return { code, stderr: child.stderr(), stdout: child.stdout() };
  };

  it('a task module without a default function: exit 2, one line per file, nothing on stdout', async () => {
    expect(await refusedStart({ TASKS_DIR: 'test/job-types/fixtures/no-default' })).to.deep.equal({
      code: 2,
      stderr:
        'test/job-types/fixtures/no-default/named-only.ts: has no default export function (the handler)\n' +
        'test/job-types/fixtures/no-default/not-function.ts: has no default export function (the handler)\n',
      stdout: '',
    });
  });

  it('HTTP targets without WEBHOOK_SECRET: exit 2, naming the file', async () => {
    const file = 'test/job-types/fixtures/types-files/one-target.json';
    expect(await refusedStart({ JOB_TYPES_FILE: file })).to.deep.equal({
      code: 2,
      stderr: `JOB_TYPES_FILE=${file}: HTTP targets need WEBHOOK_SECRET (whsec_ followed by base64)\n`,
      stdout: '',
    });
  });

  it('a DEFAULT_JOB_TYPE that is not a type: exit 2, listing the known ones', async () => {
    expect(await refusedStart({ DEFAULT_JOB_TYPE: 'nope' })).to.deep.equal({
      code: 2,
      stderr: 'DEFAULT_JOB_TYPE=nope: no such job type; known: simulated\n',
      stdout: '',
    });
  });

  it('answers GET /healthz promptly while four thread-isolated jobs spin the CPU', async () => {
    const child = await startService({ TASKS_DIR: 'examples/tasks', WORKERS: '4', LOG_LEVEL: 'warn' });
    await waitUntilHealthy(child, 15_000);
    const post = (id: string) =>
      fetch(child.url('/jobs'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, type: 'busy-loop', payload: { ms: 3000 } }),
      });
    for (const id of ['spin-1', 'spin-2', 'spin-3', 'spin-4']) expect((await post(id)).status).to.equal(202);
    // Spinning once each has reported progress (every 250 ms of spin): the threads are up and busy.
    for (;;) {
      const jobs = (await (await fetch(child.url('/jobs?type=busy-loop&state=running'))).json()) as {
        jobs: { progress: unknown }[];
      };
      if (jobs.jobs.length === 4 && jobs.jobs.every((job) => job.progress !== null)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const latencies: number[] = [];
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      const response = await fetch(child.url('/healthz'));
      await response.text();
      latencies.push(performance.now() - started);
    }
    const busy = (await (await fetch(child.url('/stats'))).json()) as { workers: { busy: number } };
    // Still all four spinning when the last answer came: the figures were taken under the full load.
    expect(busy.workers.busy).to.equal(4);
    // The target is 50 ms; the bound is generous because this machine's two cores are shared.
    if (process.env.REPORT_HEALTHZ) console.log(JSON.stringify({ healthz_ms: latencies.map((ms) => Math.round(ms * 10) / 10) }));
    expect(Math.max(...latencies)).to.be.below(250);
  });
});
