/**
 * `startService` in this process: the same shutdown as the child-process tests, observed from inside through
 * the report, the queue and the log lines. Processors here are controlled by the test, and the server listens
 * on an ephemeral port; nothing waits on a fixed sleep.
 */
import { createServer } from 'node:net';
import { expect } from 'chai';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import type { Processor } from '../../src/processors/processor.js';
import { startService, type Service } from '../../src/server.js';

interface Line {
  level: string;
  msg: string;
  [field: string]: unknown;
}

function memoryLogger(level: 'debug' | 'info' | 'warn') {
  const lines: Line[] = [];
  const logger = createLogger(level, { write: (text: string) => void lines.push(JSON.parse(text) as Line) });
  return { logger, lines };
}

const config = (env: Record<string, string> = {}) =>
  loadConfig({ PORT: '0', HOST: '127.0.0.1', STORE: 'memory', ...env });

/** A processor whose attempts end only when the test says so. */
function manualProcessor() {
  const attempts = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
  const waiting = new Map<string, () => void>();
  const processor: Processor = (job, { signal }) =>
    new Promise<void>((resolve, reject) => {
      const key = `${job.id}#${job.attempt}`;
      attempts.set(key, { resolve, reject });
      signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      waiting.get(key)?.();
    });
  return {
    processor,
    /** Resolves once attempt `n` of job `id` has started. */
    started: (id: string, n = 1) =>
      new Promise<void>((resolve) => (attempts.has(`${id}#${n}`) ? resolve() : waiting.set(`${id}#${n}`, resolve))),
    succeed: (id: string, n = 1) => attempts.get(`${id}#${n}`)!.resolve(),
    fail: (id: string, n = 1) => attempts.get(`${id}#${n}`)!.reject(new Error('boom')),
  };
}

async function submit(service: Service, id: string) {
  const response = await fetch(`http://127.0.0.1:${service.address.port}/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id, payload: null }),
  });
  expect(response.status).to.equal(202);
}

/** Resolves at the job's next transition into `to`. */
function untilTransition(service: Service, id: string, to: string): Promise<void> {
  return new Promise((resolve) => {
    const off = service.queue.on('transition', (transition) => {
      if (transition.id !== id || transition.to !== to) return;
      off();
      resolve();
    });
  });
}

function connectionRefused(port: number): Promise<boolean> {
  return fetch(`http://127.0.0.1:${port}/healthz`).then(
    () => false,
    () => true,
  );
}

describe('startService', function () {
  this.timeout(5000);
  const services: Service[] = [];
  afterEach(async () => {
    // A test that failed half-way must not leave a server or a drain behind: force whatever is still open.
    await Promise.all(
      services.splice(0).map((service) => {
        void service.close();
        return service.close();
      }),
    );
  });

  type Level = 'debug' | 'info' | 'warn';
  async function start(env: Record<string, string>, processor: Processor, level: Level = 'info') {
    const { logger, lines } = memoryLogger(level);
    const service = await startService(config(env), logger, { processor });
    services.push(service);
    return { service, lines };
  }

  it('logs where it listens, with the real port for PORT=0', async () => {
    const { service, lines } = await start({}, manualProcessor().processor);

    expect(service.address.port).to.be.above(0);
    expect(lines[0]).to.include({
      level: 'info',
      msg: 'listening',
      address: `http://127.0.0.1:${service.address.port}`,
      port: service.address.port,
    });
  });

  it('close(): stops admitting at once, drains queued jobs, then reports a clean drain (exit code 0)', async () => {
    const work = manualProcessor();
    const { service, lines } = await start({ WORKERS: '1' }, work.processor);
    await submit(service, 'first');
    await submit(service, 'second');

    const closing = service.close();
    expect(service.queue.lifecycle()).to.equal('draining');
    expect(await connectionRefused(service.address.port)).to.equal(true);
    await work.started('first');
    work.succeed('first');
    await work.started('second');
    work.succeed('second');

    expect(await closing).to.deep.equal({ unfinished: [], forced: false, exitCode: 0 });
    expect((await service.queue.stats()).totals).to.include({ submitted: 2, done: 2 });
    expect(lines.filter((line) => line.level === 'warn')).to.deep.equal([]);
  });

  it('close() past SHUTDOWN_TIMEOUT_MS: aborts, reports and logs each unfinished job at warn (exit code 1)', async () => {
    const work = manualProcessor();
    const { service, lines } = await start({ WORKERS: '1', SHUTDOWN_TIMEOUT_MS: '50' }, work.processor, 'warn');
    await submit(service, 'stuck');
    await submit(service, 'waiting');

    const report = await service.close();

    expect(report).to.deep.equal({
      unfinished: [
        { id: 'stuck', state: 'running' },
        { id: 'waiting', state: 'queued' },
      ],
      forced: false,
      exitCode: 1,
    });
    expect(lines.map(({ level, msg, job_id, state }) => ({ level, msg, job_id, state }))).to.deep.equal([
      {
        level: 'warn',
        msg: 'shutdown deadline passed: aborted the unfinished jobs',
        job_id: undefined,
        state: undefined,
      },
      { level: 'warn', msg: 'job left unfinished', job_id: 'stuck', state: 'running' },
      { level: 'warn', msg: 'job left unfinished', job_id: 'waiting', state: 'queued' },
    ]);
  });

  it('a second close() stops at once with the same report (exit code 1), and both calls share it', async () => {
    const work = manualProcessor();
    const { service, lines } = await start({ WORKERS: '1', SHUTDOWN_TIMEOUT_MS: '60000' }, work.processor);
    await submit(service, 'stuck');

    const first = service.close();
    const second = service.close();

    expect(second).to.equal(first);
    expect(await second).to.deep.equal({
      unfinished: [{ id: 'stuck', state: 'running' }],
      forced: true,
      exitCode: 1,
    });
    expect(lines.filter((line) => line.level === 'warn').map((line) => line.msg)).to.deep.equal([
      'second signal: stopped at once',
      'job left unfinished',
    ]);
  });

  it('logs submissions and final outcomes at info, and every other transition at debug', async () => {
    const work = manualProcessor();
    const { service, lines } = await start({ BACKOFF_BASE_MS: '1', BACKOFF_JITTER_MS: '0' }, work.processor, 'debug');
    await submit(service, 'j');
    await work.started('j', 1);
    work.fail('j', 1);
    await work.started('j', 2);
    work.succeed('j', 2);
    await untilTransition(service, 'j', 'done');

    const jobLines = lines.filter((line) => line.job_id === 'j');
    expect(jobLines.map(({ level, msg, from, to, attempts }) => [level, msg, from, to, attempts])).to.deep.equal([
      ['info', 'job submitted', null, 'queued', 0],
      ['debug', 'job transition', 'queued', 'running', 1],
      ['debug', 'job transition', 'running', 'backoff', 1],
      ['debug', 'job transition', 'backoff', 'running', 2],
      ['info', 'job done', 'running', 'done', 2],
    ]);
  });

  it('rejects when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    const { logger } = memoryLogger('warn');

    const error: unknown = await startService(config({ PORT: String(port) }), logger).then(
      () => null,
      (rejection: unknown) => rejection,
    );
    blocker.close();

    expect(error).to.have.property('code', 'EADDRINUSE');
  });
});
