/**
 * The service as a library, imported by the package's own name through its `exports` map (in tests the map's
 * source condition points at src/index.ts; a build points it at dist). Real timers: the engine runs in-process
 * with handlers that settle at once, so nothing here waits on time.
 */
import { expect } from 'chai';
import { createJobService, PermanentError, type JobService, type TaskContext } from 'xstate-job-service';

describe('library: createJobService', function () {
  this.timeout(10_000);
  const services: Array<{ close(): Promise<unknown> }> = [];
  afterEach(async () => {
    for (const service of services.splice(0)) await service.close();
  });

  function start<S extends { close(): Promise<unknown> }>(service: S): S {
    services.push(service);
    return service;
  }

  const types = {
    greet: {
      handler: async (payload: { name: string }, ctx: TaskContext) => {
        ctx.progress({ step: 1 });
        return { greeting: `hello ${payload.name}`, attempt: ctx.attempt, type: ctx.type };
      },
      options: { max_retries: 2 },
    },
    refuse: {
      handler: async (payload: { reason: string }) => {
        throw new PermanentError(payload.reason);
      },
    },
  };

  it('runs a type defined in code without HTTP, with the payload typed from the handler', async () => {
    const jobs = start(await createJobService({ types }));
    const submitted = await jobs.submit('greet', { name: 'Ada' }, { id: 'g1' });
    const done = await jobs.settled('g1');

    expect(jobs.url).to.equal(null);
    expect([submitted.id, submitted.type, submitted.max_retries]).to.deep.equal(['g1', 'greet', 2]);
    expect([done.state, done.result, done.progress, done.attempts]).to.deep.equal([
      'done', { greeting: 'hello Ada', attempt: 1, type: 'greet' }, { step: 1 }, 1,
    ]);
  });

  it('fails a job at once on a PermanentError', async () => {
    const jobs = start(await createJobService({ types }));
    await jobs.submit('refuse', { reason: 'no such account' }, { id: 'r1' });
    const failed = await jobs.settled('r1');
    expect([failed.state, failed.last_error, failed.attempts]).to.deep.equal(['failed', 'no such account', 1]);
  });

  it('serves the HTTP API on the same jobs when asked to', async () => {
    const jobs = start(await createJobService({ types, http: { port: 0 } }));
    const response = await fetch(`${jobs.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'h1', type: 'greet', payload: { name: 'Grace' } }),
    });
    expect([response.status, await response.json()]).to.deep.equal([202, { status: 'queued', id: 'h1' }]);
    expect((await jobs.settled('h1')).result).to.deep.equal({ greeting: 'hello Grace', attempt: 1, type: 'greet' });
    const types_ = (await (await fetch(`${jobs.url}/types`)).json()) as { types: Array<{ name: string; kind: string }> };
    expect(types_.types.map(({ name, kind }) => [name, kind])).to.deep.equal([['greet', 'module'], ['refuse', 'module']]);
  });

  it('tells listeners of every transition and progress report', async () => {
    const jobs: JobService<typeof types> = start(await createJobService({ types }));
    const seen: string[] = [];
    jobs.on('transition', (t) => seen.push(`${t.from ?? 'new'}→${t.to}`));
    jobs.on('progress', (p) => seen.push(`progress ${JSON.stringify(p.progress)}`));
    await jobs.submit('greet', { name: 'Lin' }, { id: 'l1' });
    await jobs.settled('l1');
    expect(seen).to.deep.equal(['new→queued', 'queued→running', 'progress {"step":1}', 'running→done']);
  });

  it('rejects settled() of a job the shutdown left unfinished', async () => {
    const jobs = await createJobService({
      types: { hang: { handler: (_payload: null, ctx: TaskContext) => new Promise(() => void ctx.signal) } },
      settings: { SHUTDOWN_TIMEOUT_MS: '0' },
    });
    await jobs.submit('hang', null, { id: 'h1' });
    const settled = jobs.settled('h1').then(() => 'settled', (error: Error) => error.message);
    await jobs.close();
    expect(await settled).to.equal('the service closed before job "h1" settled');
  });

  it('checks payload types at compile time (tsc verifies these lines are errors)', () => {
    const check = (jobs: JobService<typeof types>) => {
      // @ts-expect-error: greet takes { name: string }
      void jobs.submit('greet', { name: 42 });
      // @ts-expect-error: no type of this name
      void jobs.submit('shout', { name: 'x' });
      // @ts-expect-error: refuse takes { reason: string }
      void jobs.submit('refuse', { name: 'x' });
      void jobs.submit('greet', { name: 'fine' });
    };
    expect(check).to.be.a('function');
  });
});
